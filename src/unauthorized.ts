import type { ListenerName } from './options.js'

/** One client whose authentication failed (TBMQ's "unauthorized clients"). */
export interface UnauthorizedClient {
  readonly clientId: string
  /** The real client address and port (from the PROXY header when there was one). */
  readonly ipAddress: string
  readonly port: number
  readonly listener: ListenerName | undefined
  readonly username: string | undefined
  readonly passwordProvided: boolean
  /** TLS was used: terminated here (`broker`), at the proxy (`proxy`, from the SSL TLV), or not at all. */
  readonly tls: 'broker' | 'proxy' | false
  /** Why: the error message of `authenticate`, or `ip-denied`, `ip-not-allowed`, `rate-limited`. */
  readonly reason: string
  /** When the latest failed attempt happened (ms since the epoch). */
  readonly time: number
  /** Failed attempts by this client id while it stayed in the list. */
  readonly attempts: number
}

/** Bounds of the list. */
export interface UnauthorizedClientsOptions {
  /** @defaultValue 1000 */
  maxEntries?: number | undefined
  /** Milliseconds an entry is kept after its latest attempt. @defaultValue 86400000 (a day) */
  maxAge?: number | undefined
}

/** The failed authentications, one entry per client id, bounded in size and age. */
export class UnauthorizedClients {
  readonly #entries = new Map<string, UnauthorizedClient>()
  readonly #maxEntries: number
  readonly #maxAge: number
  readonly #now: () => number

  constructor (options: UnauthorizedClientsOptions = {}, now: () => number = Date.now) {
    this.#maxEntries = options.maxEntries ?? 1000
    this.#maxAge = options.maxAge ?? 86_400_000
    this.#now = now
  }

  /** Records a failed attempt and returns the entry as stored. */
  record (attempt: Omit<UnauthorizedClient, 'time' | 'attempts'>): UnauthorizedClient {
    const now = this.#now()
    this.#expire(now)
    const previous = this.#entries.get(attempt.clientId)
    const entry: UnauthorizedClient = { ...attempt, time: now, attempts: (previous?.attempts ?? 0) + 1 }
    this.#entries.delete(attempt.clientId) // keep the map in order of the latest attempt
    this.#entries.set(attempt.clientId, entry)
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
    if (clientId !== undefined) return this.#entries.delete(clientId) ? 1 : 0
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
