import type { Client } from 'aedes'
import type { AedesBroker } from '../aedes-shape.js'
import { z } from 'zod'
import { wrapHook, type MaybePromise } from '../auth-chain.js'
import type { SocketEndpoint } from '../conn-details.js'
import { parseOptions } from '../errors.js'
import {
  LISTENER_NAMES, LoggerSchema, MAX_TIMER_MS, numberIn, withMethods, type ListenerName, type Logger
} from '../options.js'
import type { ListenerStats } from '../stats.js'
import { installOnce, type AedesPlugin } from '../use.js'
import { clientAddress, type TlsAt } from './client-address.js'
import { detached, storeFailed } from './store-failure.js'
import { rethrowLater } from '../user-code.js'

/** A connected client, as {@link Sessions.list} lists it. */
export interface Session {
  readonly clientId: string
  /** The real client address and port. */
  readonly ipAddress: string
  readonly port: number
  readonly ipFamily: 0 | 4 | 6
  readonly listener: ListenerName | undefined
  /** 0 without a PROXY header, else its version. */
  readonly isProxy: 0 | 1 | 2
  /** The address came from a PROXY header (not LOCAL / UNKNOWN), or from X-Forwarded-For / X-Real-IP. */
  readonly proxied: boolean
  /** The immediate TCP peer (the load balancer when proxied). */
  readonly peer: SocketEndpoint | undefined
  readonly serverIpAddress: string
  readonly serverPort: number
  /** TLS terminated here (`broker`), at the proxy (`proxy`, SSL TLV), or none. */
  readonly tls: TlsAt
  readonly websocket: boolean
  /** When the broker accepted the client (ms since the epoch). */
  readonly connectedAt: number
  /** The broker (its aedes id) the client is connected to: in a cluster, which node. */
  readonly node?: string | undefined
}

/**
 * Where the session list is kept. The default keeps it in this process; a
 * shared one (Redis) lists every broker's clients.
 */
export interface SessionStore {
  /** A client connected; `key` names this one connection. */
  add (key: string, session: Session): MaybePromise<void>
  /** The connection `key` is gone. */
  remove (key: string): MaybePromise<void>
  /** The connected clients, oldest connection first. */
  list (): MaybePromise<Session[]>
}

/** The session list in this process. Bounded by the broker's own connections. */
export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, Session>()
  add (key: string, session: Session): void { this.#sessions.set(key, session) }
  remove (key: string): void { this.#sessions.delete(key) }
  list (): Session[] { return [...this.#sessions.values()] }
}

/** Anything with the PROXY plugin's counters: the plugin itself. */
export interface CounterSource {
  stats (): Readonly<Record<ListenerName, ListenerStats>>
}

/** Options of the sessions plugin. */
export interface SessionsOptions {
  /**
   * Publish the counters of `counters` (and, with `sysClients`, the client
   * list) under `$SYS/<broker id>/proxy-protocol/` every this many
   * milliseconds (at least 1000).
   * @defaultValue off
   */
  sysInterval?: number | undefined
  /**
   * Who may read the client list (addresses included) on
   * `$SYS/<broker id>/proxy-protocol/clients`: the list is published only
   * when this is set, and delivered only to clients it accepts (an
   * `authorizeForward` guard), whatever they subscribed to.
   * @defaultValue unset: the list is not published
   */
  sysClients?: ((client: Client) => boolean) | undefined
  /** Counters to publish with the list, per listener: pass the PROXY plugin. @defaultValue none */
  counters?: CounterSource | undefined
  /** Where the list is kept. @defaultValue in this process */
  store?: SessionStore | undefined
  /** A pino-compatible logger: a store that fails is logged at error level, never thrown. @defaultValue none */
  logger?: Logger | undefined
}

export const Schema = z.strictObject({
  sysInterval: numberIn(1000, MAX_TIMER_MS, 'milliseconds').optional(),
  sysClients: z.custom<(client: Client) => boolean>(v => typeof v === 'function',
    { error: 'must be a function (client) => boolean: who may read the client list' }).optional(),
  counters: withMethods<CounterSource>(['stats'], 'must have a stats() method, like the PROXY plugin').optional(),
  store: withMethods<SessionStore>(['add', 'remove', 'list'], 'must be a store with add, remove and list methods')
    .optional(),
  logger: LoggerSchema.optional()
})

function sessionOf (client: Client, connectedAt: number, node: string): Session {
  const d = client.connDetails ?? undefined
  const { ipAddress, port, ipFamily, tls } = clientAddress(client)
  return {
    clientId: client.id,
    ipAddress,
    port,
    ipFamily,
    listener: d?.listener,
    isProxy: d?.isProxy ?? 0,
    proxied: d?.proxy?.proxied === true || d?.forwarded !== undefined,
    peer: d?.peer,
    serverIpAddress: d?.serverIpAddress ?? '',
    serverPort: d?.serverPort ?? 0,
    tls,
    websocket: d?.isWebsocket ?? false,
    connectedAt,
    node
  }
}

/**
 * The connected clients with their real addresses, from `client.connDetails`
 * and the broker's `client` / `clientDisconnect` events; optionally published
 * under `$SYS` the way aedes-stats does, the list to the clients `sysClients`
 * accepts only.
 */
export class Sessions implements AedesPlugin<Sessions> {
  readonly #store: SessionStore
  readonly #sysInterval: number | undefined
  readonly #counters: CounterSource | undefined
  readonly #logger: Logger | undefined
  readonly #sysClients: ((client: Client) => boolean) | undefined
  readonly #keys = new WeakMap<Client, string>()
  #next = 0

  /** @throws OptionsError naming every bad key. */
  constructor (options: SessionsOptions = {}) {
    const o = parseOptions(Schema, options, 'sessions() options')
    this.#store = o.store ?? new MemorySessionStore()
    this.#sysInterval = o.sysInterval
    this.#counters = o.counters
    this.#logger = o.logger
    this.#sysClients = o.sysClients
  }

  /** The connected clients, oldest connection first. */
  async list (): Promise<Session[]> {
    return await this.#store.list()
  }

  /** Called by `broker.use()`. @throws UsageError when a session list is already installed on the broker. */
  install (broker: AedesBroker): this {
    installOnce(broker, 'sessions', 'a session list is already installed on this broker')
    broker.on('client', client => {
      const key = `${++this.#next}`
      this.#keys.set(client, key)
      const session = sessionOf(client, Date.now(), broker.id)
      detached('sessions: adding a client', this.#logger, () => this.#store.add(key, session))
    })
    broker.on('clientDisconnect', client => {
      const key = this.#keys.get(client)
      if (key === undefined) return
      this.#keys.delete(client)
      detached('sessions: removing a client', this.#logger, () => this.#store.remove(key))
    })
    if (this.#sysInterval !== undefined) this.#publishSys(broker, this.#sysInterval)
    if (this.#sysClients !== undefined) this.#guardClientList(broker, this.#sysClients)
    return this
  }

  /**
   * Delivers the client list only to clients `allowed` accepts. The guard
   * stays around `broker.authorizeForward` when the user assigns one later:
   * the property's setter replaces only the inner function.
   */
  #guardClientList (broker: AedesBroker, allowed: (client: Client) => boolean): void {
    // Any broker's list, not only this one's: in a cluster the message bus
    // (mqemitter-redis) brings the other nodes' lists to this node's clients.
    const isList = (topic: string): boolean => /^\$SYS\/[^/]+\/proxy-protocol\/clients$/.test(topic)
    const may = (client: Client): boolean => {
      try {
        return allowed(client)
      } catch (err) {
        rethrowLater(err)
        return false
      }
    }
    wrapHook(broker, 'authorizeForward', (inner, client, packet) =>
      isList(packet.topic) && !may(client) ? null : inner.call(broker, client, packet))
  }

  #publishSys (broker: AedesBroker, interval: number): void {
    const prefix = `$SYS/${broker.id}/proxy-protocol`
    const publish = (topic: string, payload: string): void => {
      broker.publish({
        cmd: 'publish', topic: `${prefix}/${topic}`, payload: Buffer.from(payload), qos: 0, retain: false, dup: false
      }, () => {})
    }
    const timer = setInterval(() => {
      const stats = this.#counters?.stats()
      if (stats !== undefined) {
        for (const name of LISTENER_NAMES) {
          const l = stats[name]
          publish(`${name}/proxied`, String(l.proxied.v1 + l.proxied.v2))
          publish(`${name}/local`, String(l.local))
          publish(`${name}/direct`, String(l.direct))
          publish(`${name}/rejected`, String(Object.values(l.rejected).reduce((a, b) => a + b, 0)))
        }
      }
      if (this.#sysClients !== undefined) {
        this.list().then(list => { publish('clients', JSON.stringify(list)) },
          (err: unknown) => { storeFailed('sessions: listing for $SYS', this.#logger, err) })
      }
    }, interval)
    timer.unref()
    broker.once('closed', () => { clearInterval(timer) })
  }
}

/**
 * Creates the sessions plugin: `const sessions = broker.use(sessions({ sysInterval: 10000, counters: proxy }))`.
 * @throws OptionsError naming every bad key.
 */
export function sessions (options: SessionsOptions = {}): Sessions {
  return new Sessions(options)
}
