import type { Duplex } from 'node:stream'
import type { ProxyHeader } from './protocol/header.js'
import type { ReadCallback, ReadFailure, ReadOptions } from './read-options.js'
import { HeaderRead } from './reader.js'

/** The callback form of {@link HeaderRead}. */
class CallbackRead extends HeaderRead {
  readonly #callback: ReadCallback
  constructor (socket: Duplex, options: ReadOptions, callback: ReadCallback) {
    super(socket, options)
    this.#callback = callback
  }

  protected finish (err: ReadFailure | null, header?: ProxyHeader, ended?: boolean): void {
    this.#callback(err, header, ended)
  }
}

/**
 * Reads one PROXY header from the start of `socket` (see {@link HeaderRead}),
 * then calls `callback` once, synchronously from the socket event that
 * decided it.
 */
export function readHeader (socket: Duplex, options: ReadOptions, callback: ReadCallback): void {
  new CallbackRead(socket, options, callback).start()
}
