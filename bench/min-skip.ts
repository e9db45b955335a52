// The practical limit for a PROXY receiver in Node: skip the header and hand
// the socket on, with the least work possible. It collects bytes until the
// header ends (CRLF for v1, 16 + len for v2), puts the rest back with
// unshift, and calls `done(socket)`. No validation, no decoding, no timeout,
// no connDetails: a yardstick for what any reader that consumes the header
// in JavaScript before aedes (or before Node's TLS server) must cost.
//
// The listeners are module-level functions with the state on the socket, so
// no closure is created per connection (this file runs through tsx, whose
// transform would wrap each per-connection closure in a `__name()` call).
import type net from 'node:net'

const V1_MAX = 107
const STATE = Symbol('min-skip')

interface State { buf: Buffer | undefined, readonly done: (socket: net.Socket) => void }
type Skipping = net.Socket & { [STATE]: State | undefined }

function ignore (): void {}

function onData (this: Skipping, chunk: Buffer): void {
  const state = this[STATE] as State
  const buf = state.buf === undefined ? chunk : Buffer.concat([state.buf, chunk])
  state.buf = buf
  let end = -1
  if (buf[0] === 0x0d) {
    if (buf.length >= 16) {
      const total = 16 + buf.readUInt16BE(14)
      if (buf.length >= total) end = total
    }
  } else {
    const cr = buf.indexOf(0x0d)
    if (cr >= 0 && cr + 1 < buf.length) end = cr + 2
    else if (buf.length >= V1_MAX) { this.destroy(); return }
  }
  if (end < 0) return
  this.off('data', onData)
  this.off('error', ignore)
  this.pause()
  if (buf.length > end) this.unshift(buf.subarray(end))
  this[STATE] = undefined
  state.done(this)
}

export function skipHeader (socket: net.Socket, done: (socket: net.Socket) => void): void {
  (socket as Skipping)[STATE] = { buf: undefined, done }
  socket.on('error', ignore)
  socket.on('data', onData)
}
