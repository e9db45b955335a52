import type { MaybePromise, RefusedBy } from '../auth-chain.js'
import type { ListenerName } from '../options.js'
import type { TlsAt } from './client-address.js'

/** One client whose authentication failed (TBMQ's "unauthorized clients"). */
export interface UnauthorizedClient {
  /** As sent, cut to 256 characters (then ending in `…`). */
  readonly clientId: string
  /** The real client address and port (from the PROXY header when there was one). */
  readonly ipAddress: string
  readonly port: number
  readonly listener: ListenerName | undefined
  readonly username: string | undefined
  readonly passwordProvided: boolean
  /** TLS was used: terminated here (`broker`), at the proxy (`proxy`, from the SSL TLV), or not at all. */
  readonly tls: TlsAt
  /** What refused the latest attempt: the IP policy's lists, its rate limit, or the broker's `authenticate`. */
  readonly refusedBy: RefusedBy
  /** Why: the error message of `authenticate`, or `ip-denied`, `ip-not-allowed`, `rate-limited`. */
  readonly reason: string
  /** When the latest failed attempt happened (ms since the epoch). */
  readonly time: number
  /** Failed attempts by this client id while it stayed in the list. */
  readonly attempts: number
  /** The broker (its aedes id) that saw the latest attempt: in a cluster, which node. */
  readonly node?: string | undefined
}

/**
 * Characters kept of a client id, user name or reason: MQTT allows 65535
 * bytes each, and any client can fail a login. An entry then holds at most
 * about 2 KiB, so the list at most `maxEntries` × 2 KiB (2 MiB by default).
 */
export const MAX_FIELD_LENGTH = 256

/**
 * `text` cut to {@link MAX_FIELD_LENGTH} characters with a `…` that says so,
 * as a string of its own: a slice would keep the whole original alive.
 */
export function bounded (text: string): string
export function bounded (text: string | undefined): string | undefined
export function bounded (text: string | undefined): string | undefined {
  if (text === undefined || text.length <= MAX_FIELD_LENGTH) return text
  return Buffer.from(`${text.slice(0, MAX_FIELD_LENGTH)}…`, 'utf8').toString('utf8')
}

/** One failed attempt, as the plugin reports it to the store. */
export type UnauthorizedAttempt = Omit<UnauthorizedClient, 'time' | 'attempts'>

/** `attempt` with its client id, user name and reason {@link bounded}, as stores keep it and the plugin emits it. */
export function boundedAttempt (attempt: UnauthorizedAttempt): UnauthorizedAttempt {
  const { clientId, username, reason } = attempt
  return { ...attempt, clientId: bounded(clientId), username: bounded(username), reason: bounded(reason) }
}

/**
 * Where the unauthorized-clients list is kept. The default keeps it in this
 * process; a shared one (Redis) gives brokers behind one load balancer one
 * list. A store bounds what it keeps.
 */
export interface UnauthorizedStore {
  /** Records a failed attempt and returns the entry as stored. */
  record (attempt: UnauthorizedAttempt): MaybePromise<UnauthorizedClient>
  /** The entries, newest first. */
  list (): MaybePromise<UnauthorizedClient[]>
  /** Removes one client id's entry, or all. @returns how many entries went. */
  clear (clientId?: string): MaybePromise<number>
}

/** The most entries a list may be given: about 300 MB in memory at this bound. */
export const MAX_UNAUTHORIZED_ENTRIES = 1_000_000
/** The longest an entry may be kept: 365 days, in milliseconds. */
export const MAX_UNAUTHORIZED_AGE = 31_536_000_000

/** Bounds of the in-memory list. */
export interface MemoryUnauthorizedStoreOptions {
  /** @defaultValue 1000 */
  maxEntries?: number | undefined
  /** Milliseconds an entry is kept after its latest attempt. @defaultValue 86400000 (a day) */
  maxAge?: number | undefined
}

/** The failed authentications in this process, one entry per client id, bounded in size and age. */
export class MemoryUnauthorizedStore implements UnauthorizedStore {
  readonly #entries = new Map<string, UnauthorizedClient>()
  readonly #maxEntries: number
  readonly #maxAge: number
  readonly #now: () => number

  constructor (options: MemoryUnauthorizedStoreOptions = {}, now: () => number = Date.now) {
    this.#maxEntries = options.maxEntries ?? 1000
    this.#maxAge = options.maxAge ?? 86_400_000
    this.#now = now
  }

  /** Records a failed attempt and returns the entry as stored. */
  record (attempt: UnauthorizedAttempt): UnauthorizedClient {
    const now = this.#now()
    this.#expire(now)
    const kept = boundedAttempt(attempt)
    const clientId = kept.clientId
    const previous = this.#entries.get(clientId)
    const entry: UnauthorizedClient = { ...kept, time: now, attempts: (previous?.attempts ?? 0) + 1 }
    this.#entries.delete(clientId) // keep the map in order of the latest attempt
    this.#entries.set(clientId, entry)
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries) break
      this.#entries.delete(key)
    }
    return entry
  }

  /** The entries, newest first. */
  list (): UnauthorizedClient[] {
    this.#expire(this.#now())
    return [...this.#entries.values()].reverse()
  }

  /** Removes one client id, or everything. @returns how many entries were removed. */
  clear (clientId?: string): number {
    // An id longer than the list keeps is stored cut; either form finds it.
    if (clientId !== undefined) return this.#entries.delete(clientId) || this.#entries.delete(bounded(clientId)) ? 1 : 0
    const n = this.#entries.size
    this.#entries.clear()
    return n
  }

  #expire (now: number): void {
    for (const [key, entry] of this.#entries) {
      if (now - entry.time <= this.#maxAge) break // oldest first: the rest are newer
      this.#entries.delete(key)
    }
  }
}
