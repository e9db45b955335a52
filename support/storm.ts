// Many raw MQTT clients for the tests and the benchmarks: `count` clients
// connect, at once (a reconnect storm) or `inFlight` at a time; each sends
// its CONNECT as soon as TCP is up and waits for its CONNACK, then stays
// connected. Each client binds its own loopback source address, so a test can
// tell them apart by address and port.
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import mqttPacket from 'mqtt-packet'

/** One client that got its CONNACK, as the client saw its own end. */
export interface StormClient { readonly clientId: string, readonly address: string, readonly port: number }

export interface StormResult {
  readonly connected: readonly StormClient[]
  /** Their sockets, open. */
  readonly sockets: readonly net.Socket[]
  /** Clients without a CONNACK, by what happened to them (`closed before CONNACK`, `error ECONNRESET`, ...). */
  readonly lost: Readonly<Record<string, number>>
  /** From the first connect to the last CONNACK, ms. */
  readonly lastConnackMs: number
  /** From the first connect until every client had its CONNACK or was lost, ms. */
  readonly wallMs: number
  /** Sends DISCONNECT on every connected client, closes them and waits until they are closed. */
  readonly close: () => Promise<void>
}

export interface StormOptions {
  readonly host?: string
  /** Client ids are `${idPrefix}-${n}`. Default `storm`. */
  readonly idPrefix?: string
  readonly username?: string
  readonly password?: string
  /** A client without a CONNACK by then is lost (`no CONNACK within …`). Default 30 000 ms. */
  readonly timeoutMs?: number
  /** Clients connecting at a time. Default: all of them at once. */
  readonly inFlight?: number
  /** The n-th client's source address. Default 127.2.x.y. */
  readonly address?: (n: number) => string
  /** The CONNECT's keepalive, s. Default 0 (none). */
  readonly keepalive?: number
}

const stormAddress = (n: number): string => `127.2.${String((n >> 8) & 255)}.${String(1 + (n & 127))}`

const CONNACK_OK = Buffer.from([0x20, 0x02, 0x00, 0x00])
const DISCONNECT = Buffer.from([0xe0, 0x00])

/** `count` clients connect to `port`; resolves when every one has its CONNACK or is lost. */
export async function storm (port: number, count: number, options: StormOptions = {}): Promise<StormResult> {
  const host = options.host ?? '127.0.0.1'
  const timeoutMs = options.timeoutMs ?? 30_000
  const address = options.address ?? stormAddress
  const open: net.Socket[] = []
  const connected: StormClient[] = []
  const lost: Record<string, number> = {}
  let last = 0
  const t0 = performance.now()
  const one = async (n: number): Promise<void> => {
    const clientId = `${options.idPrefix ?? 'storm'}-${String(n)}`
    const login = options.username !== undefined ? { username: options.username, password: Buffer.from(options.password ?? '') } : {}
    const packet = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: options.keepalive ?? 0, ...login })
    await new Promise<void>(resolve => {
      const s = net.connect({ host, port, localAddress: address(n) })
      s.setNoDelay(true)
      let got = Buffer.alloc(0)
      let settled = false
      const settle = (failure?: string): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (failure === undefined) {
          last = performance.now()
          open.push(s)
          connected.push({ clientId, address: s.localAddress ?? '', port: s.localPort ?? 0 })
        } else {
          lost[failure] = (lost[failure] ?? 0) + 1
          s.destroy()
        }
        resolve()
      }
      const timer = setTimeout(() => { settle(`no CONNACK within ${timeoutMs} ms`) }, timeoutMs)
      s.on('error', (err: NodeJS.ErrnoException) => { settle(`error ${err.code ?? err.message}`) })
      s.once('close', () => { settle('closed before CONNACK') })
      s.once('connect', () => { s.write(packet) })
      s.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk])
        if (got.length < 4) return
        settle(got.subarray(0, 4).equals(CONNACK_OK) ? undefined : `CONNACK ${got.subarray(0, 4).toString('hex')}`)
      })
    })
  }
  let next = 0
  await Promise.all(Array.from({ length: Math.min(options.inFlight ?? count, count) }, async () => {
    while (next < count) await one(next++)
  }))
  const wallMs = performance.now() - t0
  const close = async (): Promise<void> => {
    await Promise.all(open.map(async s => {
      if (s.destroyed) return
      await new Promise<void>(resolve => {
        s.once('close', () => { resolve() })
        s.end(DISCONNECT)
        s.destroySoon()
      })
    }))
  }
  return { connected, sockets: open, lost, lastConnackMs: connected.length === 0 ? 0 : last - t0, wallMs, close }
}
