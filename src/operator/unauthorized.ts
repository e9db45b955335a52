import { EventEmitter } from 'node:events'
import type { AedesBroker } from '../aedes-shape.js'
import { z } from 'zod'
import { authChain, type AuthFailure, type RefusedBy } from '../auth-chain.js'
import { parseOptions } from '../errors.js'
import { Collapser } from '../log-collapse.js'
import { LoggerSchema, numberIn, withMethods, type Logger } from '../options.js'
import { installOnce, type AedesPlugin } from '../use.js'
import { callUser, logText } from '../user-code.js'
import { clientAddress } from './client-address.js'
import { storeFailed } from './store-failure.js'
import {
  boundedAttempt, MAX_UNAUTHORIZED_AGE, MAX_UNAUTHORIZED_ENTRIES, MemoryUnauthorizedStore,
  type UnauthorizedAttempt, type UnauthorizedClient, type UnauthorizedStore
} from './unauthorized-store.js'

/** Options of the unauthorized-clients plugin. */
export interface UnauthorizedClientsOptions {
  /** Entries kept by the default store. @defaultValue 1000 */
  maxEntries?: number | undefined
  /** Milliseconds the default store keeps an entry after its latest attempt. @defaultValue 86400000 (a day) */
  maxAge?: number | undefined
  /** Where the list is kept. @defaultValue in this process, bounded by `maxEntries` and `maxAge` */
  store?: UnauthorizedStore | undefined
  /**
   * A pino-compatible logger: a `warn` line per failed login, at most one a
   * minute per kind and listener (then `repeated: N`). @defaultValue none
   */
  logger?: Logger | undefined
}

export const Schema = z.strictObject({
  maxEntries: numberIn(1, MAX_UNAUTHORIZED_ENTRIES).optional(),
  maxAge: numberIn(1, MAX_UNAUTHORIZED_AGE, 'milliseconds').optional(),
  store: withMethods<UnauthorizedStore>(['record', 'list', 'clear'],
    'must be a store with record, list and clear methods').optional(),
  logger: LoggerSchema.optional()
})

/** The events of the unauthorized-clients plugin. */
export interface UnauthorizedClientsEvents {
  /** Every refused login, once, as it is refused: before its store write, whether or not that write succeeds. */
  refused: [attempt: UnauthorizedAttempt]
  /** A refused login's entry, once it is stored (none when the store fails). */
  unauthorized: [entry: UnauthorizedClient]
}

/** The message of a refused login's log line, by what refused it. */
const REFUSED: Record<RefusedBy, string> = {
  'ip-policy': 'connection refused by the IP policy',
  'rate-limit': 'connection refused by the rate limit',
  authentication: 'authentication failed'
}

/**
 * TBMQ's unauthorized clients: every refused login (the broker's
 * `authenticate`, or a gate such as the IP policy) with the real client
 * address from `client.connDetails`, one entry per client id. Emits
 * `'refused'` for every refused login (count refusals with it: it fires
 * even when the store cannot be written), and `'unauthorized'` for each
 * entry, after it is stored.
 */
export class UnauthorizedClients extends EventEmitter<UnauthorizedClientsEvents>
  implements AedesPlugin<UnauthorizedClients> {
  readonly #store: UnauthorizedStore
  readonly #logger: Logger | undefined
  readonly #logs: Collapser

  /**
   * @param now - the clock of the log's once-a-minute (tests)
   * @throws OptionsError naming every bad key.
   */
  constructor (options: UnauthorizedClientsOptions = {}, now: () => number = Date.now) {
    super()
    const o = parseOptions(Schema, options, 'unauthorizedClients() options')
    this.#store = o.store ?? new MemoryUnauthorizedStore({ maxEntries: o.maxEntries, maxAge: o.maxAge })
    this.#logger = o.logger
    this.#logs = new Collapser(60_000, now)
  }

  /** The failed authentications, newest first. */
  async list (): Promise<UnauthorizedClient[]> {
    return await this.#store.list()
  }

  /** Forgets one client id's failed authentications, or all. @returns how many entries went. */
  async clear (clientId?: string): Promise<number> {
    return await this.#store.clear(clientId)
  }

  /** Called by `broker.use()`. @throws UsageError when the list is already installed on the broker. */
  install (broker: AedesBroker): this {
    installOnce(broker, 'unauthorized-clients', 'an unauthorized-clients list is already installed on this broker')
    authChain(broker).failed(async failure => { await this.#record(failure, broker.id) })
    return this
  }

  async #record ({ client, refusedBy, username, password, reason }: AuthFailure, node: string): Promise<void> {
    const d = client.connDetails
    const { ipAddress, port, tls } = clientAddress(client)
    const attempt = {
      clientId: client.id,
      ipAddress,
      port,
      listener: d?.listener,
      refusedBy,
      username,
      passwordProvided: password != null,
      tls,
      reason,
      node
    }
    if (this.listenerCount('refused') > 0) {
      // Told before the store is: a store that is gone (or slow) must not hide a refusal.
      const refused = boundedAttempt(attempt)
      callUser(() => { this.emit('refused', refused) })
    }
    let entry: UnauthorizedClient | undefined
    try {
      entry = await this.#store.record(attempt)
    } catch (err) {
      // A store outage loses this entry, never the broker nor the refusal's line
      // (in a cluster, a Redis that is gone is when the rate limit refuses as
      // `policy unavailable`: the line says why the client was refused).
      storeFailed('unauthorized clients: recording a failed login', this.#logger, err)
    }
    const logged = entry ?? attempt
    const logger = this.#logger
    // One line a minute per kind of refusal and listener, then how many more:
    // a rate limit that refuses a flood must not write the flood to the log.
    // The field names are the package's log vocabulary (docs/api.md, "Log fields").
    if (logger !== undefined) {
      this.#logs.say(logger, 'warn', `${refusedBy}|${logged.listener ?? ''}`, () => [{
        event: 'refused',
        refusedBy,
        listener: logged.listener,
        clientId: logText(logged.clientId),
        username: logged.username === undefined ? undefined : logText(logged.username),
        ipAddress: logged.ipAddress,
        port: logged.port,
        tls: logged.tls,
        reason: logText(reason, 256)
      }, REFUSED[refusedBy]], n => [{ event: 'refused', refusedBy, listener: logged.listener, repeated: n },
        `${REFUSED[refusedBy]}: ${n} more on the ${logged.listener ?? 'unknown'} listener in the last minute, ` +
        'not logged one by one'])
    }
    if (entry !== undefined && this.listenerCount('unauthorized') > 0) {
      const stored = entry
      callUser(() => { this.emit('unauthorized', stored) })
    }
  }
}

/**
 * Creates the unauthorized-clients plugin: `const unauthorized = broker.use(unauthorizedClients())`.
 * @throws OptionsError naming every bad key.
 */
export function unauthorizedClients (options: UnauthorizedClientsOptions = {}): UnauthorizedClients {
  return new UnauthorizedClients(options)
}
