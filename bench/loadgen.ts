// The load generator: raw net (and tls) sockets on loopback, bytes from
// mqtt-packet. Every loop is bounded by a count and every wait by a timer.
import { on } from 'node:events'
import net from 'node:net'
import tls from 'node:tls'
import { performance } from 'node:perf_hooks'
import mqttPacket from 'mqtt-packet'
import { CONNACK, CONNECT, DISCONNECT, SPLIT_AT } from './cases.js'

export const HOST = '127.0.0.1'

// ---------------------------------------------------------------- connection storm

export interface StormOptions {
  readonly port: number
  /** Connections in all. */
  readonly count: number
  /** Connections open at once. */
  readonly concurrency: number
  /** PROXY header written before CONNECT (before the TLS handshake with `tls`). */
  readonly header?: Buffer | undefined
  /** Write the first SPLIT_AT bytes alone, the rest `splitDelayMs` later. */
  readonly split?: boolean
  readonly splitDelayMs?: number
  readonly tls?: { readonly ca: Buffer } | undefined
  /** Per connection: give up after this long without a CONNACK and close. */
  readonly timeoutMs: number
}

/** CONNACKs, failures, and the failures by reason. */
export interface StormResult { readonly ok: number, readonly failed: number, readonly failures: Record<string, number> }

/** Opens `count` connections, `concurrency` at a time: header + CONNECT, wait for CONNACK, DISCONNECT, close. */
export async function storm (o: StormOptions): Promise<StormResult> {
  const payload = o.header === undefined ? CONNECT : Buffer.concat([o.header, CONNECT])
  const failures: Record<string, number> = {}
  let ok = 0
  let failed = 0
  let started = 0
  const worker = async (): Promise<void> => {
    while (started < o.count) {
      started++
      const r = await oneConnection(o, payload)
      if (typeof r === 'number') ok++
      else { failed++; failures[r] = (failures[r] ?? 0) + 1 }
    }
  }
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.count) }, worker))
  return { ok, failed, failures }
}

async function oneConnection (o: StormOptions, payload: Buffer): Promise<number | string> {
  return await new Promise(resolve => {
    const t0 = performance.now()
    let latency = -1
    let done = false
    const raw = net.connect({ host: HOST, port: o.port })
    raw.setNoDelay(true)
    let stream: net.Socket = raw
    let splitTimer: NodeJS.Timeout | undefined
    const finish = (reason?: string): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      clearTimeout(splitTimer)
      stream.destroy()
      raw.destroy()
      resolve(reason ?? (latency >= 0 ? latency : 'closed before CONNACK'))
    }
    const timer = setTimeout(() => { finish('timeout') }, o.timeoutMs)
    const onError = (err: NodeJS.ErrnoException): void => {
      finish(latency >= 0 ? undefined : `error ${err.code ?? err.message}`)
    }
    raw.on('error', onError)
    const listen = (s: net.Socket): void => {
      let head: Buffer | undefined
      s.on('data', (chunk: Buffer) => {
        if (latency >= 0) return
        head = head === undefined ? chunk : Buffer.concat([head, chunk])
        if (head.length < CONNACK.length) return
        if (!head.subarray(0, CONNACK.length).equals(CONNACK)) {
          finish(`unexpected reply 0x${head.subarray(0, 4).toString('hex')}`)
          return
        }
        latency = performance.now() - t0
        s.end(DISCONNECT)
      })
      s.once('close', () => { finish() })
    }
    raw.once('connect', () => {
      if (o.tls !== undefined) {
        if (o.header !== undefined) raw.write(o.header)
        const t = tls.connect({ socket: raw, ca: o.tls.ca, servername: 'localhost' })
        stream = t
        t.on('error', onError)
        t.once('secureConnect', () => { t.write(CONNECT) })
        listen(t)
        return
      }
      listen(raw)
      if (o.split === true) {
        raw.write(payload.subarray(0, SPLIT_AT))
        splitTimer = setTimeout(() => { raw.write(payload.subarray(SPLIT_AT)) }, o.splitDelayMs ?? 1)
      } else {
        raw.write(payload)
      }
    })
  })
}

// ---------------------------------------------------------------- throughput

export interface ThroughputOptions {
  readonly port: number
  readonly header?: Buffer | undefined
  readonly messages: number
  readonly payloadBytes: number
  /** Messages per write. */
  readonly batch: number
  /** At most this many messages sent and not yet received. */
  readonly window: number
  readonly timeoutMs: number
}

/** `strayBytes`: bytes received beyond whole messages (should be 0). */
export interface ThroughputResult { readonly wallMs: number, readonly received: number, readonly strayBytes: number }

const TOPIC = 'bench/throughput'

interface Session { readonly socket: net.Socket, readonly leftover: Buffer }

/**
 * Connects, sends header + `packets`, waits for `expectBytes` of replies
 * (the CONNACK, the SUBACK: nothing else comes before the socket is resumed).
 */
async function session (port: number, header: Buffer | undefined, packets: readonly Buffer[], expectBytes: number,
  timeoutMs: number): Promise<Session> {
  const socket = net.connect({ host: HOST, port }).setNoDelay(true)
  socket.write(Buffer.concat([...(header !== undefined ? [header] : []), ...packets]))
  let got = Buffer.alloc(0)
  try {
    const chunks = on(socket, 'data', { signal: AbortSignal.timeout(timeoutMs), close: ['close'] })
    for await (const [chunk] of chunks as AsyncIterable<[Buffer]>) {
      got = Buffer.concat([got, chunk])
      if (got.length >= expectBytes) return { socket: socket.pause(), leftover: got.subarray(expectBytes) }
    }
    throw new Error('closed during handshake')
  } catch (err) {
    socket.destroy()
    throw err
  }
}

/** One publisher, one subscriber, `messages` QoS 0 publishes through the broker. */
export async function throughput (o: ThroughputOptions): Promise<ThroughputResult> {
  const connect = (clientId: string): Buffer =>
    mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0 })
  const subscribe = mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: TOPIC, qos: 0 }] })
  const payload = Buffer.alloc(o.payloadBytes, 0x61)
  const publish = mqttPacket.generate({ cmd: 'publish', topic: TOPIC, payload, qos: 0, retain: false, dup: false })
  const size = publish.length
  const sub = await session(o.port, o.header, [connect('bench-sub'), subscribe], 4 + 5, o.timeoutMs)
  const pub = await session(o.port, o.header, [connect('bench-pub')], 4, o.timeoutMs)
    .catch((err: unknown) => { sub.socket.destroy(); throw err })
  pub.socket.on('error', () => {})
  sub.socket.on('error', () => {})
  const batchBuf = Buffer.concat(Array.from({ length: o.batch }, () => publish))
  let sent = 0
  let receivedBytes = sub.leftover.length
  let waitingDrain = false
  const t0 = performance.now()
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const got = Math.floor(receivedBytes / size)
        reject(new Error(`throughput: ${got} of ${o.messages} messages after ${o.timeoutMs} ms`))
      }, o.timeoutMs)
      const pump = (): void => {
        while (!waitingDrain && sent < o.messages && sent - Math.floor(receivedBytes / size) < o.window) {
          const n = Math.min(o.batch, o.messages - sent)
          sent += n
          const more = pub.socket.write(n === o.batch ? batchBuf : batchBuf.subarray(0, n * size))
          if (!more) {
            waitingDrain = true
            pub.socket.once('drain', () => { waitingDrain = false; pump() })
          }
        }
      }
      sub.socket.on('data', (chunk: Buffer) => {
        receivedBytes += chunk.length
        if (receivedBytes >= o.messages * size) { clearTimeout(timer); resolve(); return }
        pump()
      })
      sub.socket.once('close', () => { clearTimeout(timer); reject(new Error('subscriber closed')) })
      sub.socket.resume()
      pump()
    })
    const wallMs = performance.now() - t0
    return { wallMs, received: Math.floor(receivedBytes / size), strayBytes: receivedBytes % size }
  } finally {
    pub.socket.end(DISCONNECT)
    sub.socket.end(DISCONNECT)
    setTimeout(() => { pub.socket.destroy(); sub.socket.destroy() }, 1000).unref()
  }
}
