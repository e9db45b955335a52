import type { AuthenticateError, Client } from 'aedes'
import type { AedesBroker } from './aedes-shape.js'
import { rethrowLater } from './user-code.js'
import { aedesReturnCode, REASON_CODE, refuseV5, speaksV5 } from './v5-refusal.js'

/** A value now, or later. Stores that live elsewhere (Redis) answer later. */
export type MaybePromise<T> = T | Promise<T>

/** What refused a login: the IP policy's lists, its rate limit, or the broker's authenticate. */
export type RefusedBy = 'ip-policy' | 'rate-limit' | 'authentication'
/**
 * A gate's refusal: what refused, why, and the MQTT 5 CONNACK reason code an
 * MQTT 5 client hears (default 0x87, not authorized; MQTT 3.1.1 clients get return code 5).
 */
export interface GateRefusal {
  readonly refusedBy: Exclude<RefusedBy, 'authentication'>
  readonly reason: string
  readonly reasonCode?: number | undefined
}
/** Decides before the broker's authenticate whether a client may try at all: a refusal, or undefined. */
export type AuthGate = (client: Client) => MaybePromise<GateRefusal | undefined>
/** Gives the user name the broker's authenticate sees. */
export type UsernameMapper = (client: Client, username: string | undefined) => string | undefined
/** One refused login: by a gate (its reason) or by the broker's authenticate. */
export interface AuthFailure {
  readonly client: Client
  readonly refusedBy: RefusedBy
  readonly username: string | undefined
  readonly password: Buffer | undefined
  readonly reason: string
}
/** Told of every refused login, before the client gets its CONNACK. */
export type AuthObserver = (failure: AuthFailure) => MaybePromise<void>

/** The steps around one broker's `authenticate`, in a fixed order whatever the order of `use()`. */
export interface AuthChain {
  /** @param unavailable - what refused when the gate cannot decide (it throws) */
  gate (fn: AuthGate, unavailable: GateRefusal['refusedBy']): void
  username (fn: UsernameMapper): void
  failed (fn: AuthObserver): void
}

const CHAIN = Symbol.for('aedes-proxy-protocol.auth-chain')

/** The aedes hooks the plugins wrap. */
type Hook = 'authenticate' | 'authorizeForward'

/**
 * Puts `around` in place of `broker[hook]`, given the hook's current
 * function as `inner`, and keeps it there: assigning the hook later, as
 * aedes code often does, replaces only the inner function (the property's
 * setter), so the wrapper stays around whatever the user installs.
 */
export function wrapHook<K extends Hook> (broker: AedesBroker, hook: K,
  around: (inner: AedesBroker[K], ...args: Parameters<AedesBroker[K]>) => ReturnType<AedesBroker[K]>): void {
  let inner = broker[hook]
  const wrapped = (...args: Parameters<AedesBroker[K]>): ReturnType<AedesBroker[K]> => around(inner, ...args)
  Object.defineProperty(broker, hook, {
    get: () => wrapped,
    set: (fn: AedesBroker[K]) => { inner = fn },
    configurable: true,
    enumerable: true
  })
}

/** Runs the observers; a throwing one is rethrown on the next tick, after the client has its answer. */
async function tell (observers: readonly AuthObserver[], failure: AuthFailure): Promise<void> {
  for (const observe of observers) {
    try {
      await observe(failure)
    } catch (err) {
      rethrowLater(err)
    }
  }
}

/**
 * The authenticate chain of `broker`, put in place on first use: gates
 * (the IP policy) run first and refuse with CONNACK return code 5 (an MQTT 5
 * client: the gate's reason code, see v5-refusal.ts); then the
 * user name is mapped (CN as username); then the broker's own authenticate
 * runs; observers (the unauthorized-clients list) hear of every refusal.
 * Assigning `broker.authenticate = fn` later, as aedes code often does,
 * replaces only the broker's own function: the property's setter keeps the
 * chain around it.
 */
export function authChain (broker: AedesBroker): AuthChain {
  const b = broker as AedesBroker & { [CHAIN]?: AuthChain }
  const existing = b[CHAIN]
  if (existing !== undefined) return existing
  const gates: Array<{ fn: AuthGate, unavailable: GateRefusal['refusedBy'] }> = []
  const mappers: UsernameMapper[] = []
  const observers: AuthObserver[] = []
  // reasonCode: a refusal of an MQTT 5 client that the chain writes itself (aedes cannot).
  type Outcome = { err: AuthenticateError | null, success: boolean | null, reasonCode?: number | undefined }
  const run = async (authenticate: AedesBroker['authenticate'], client: Client, username: string | undefined,
    password: Buffer | undefined): Promise<Outcome> => {
    for (const gate of gates) {
      let refusal: GateRefusal | undefined
      try {
        refusal = await gate.fn(client)
      } catch (err) {
        // A gate that cannot decide (its store is gone) refuses: fail closed.
        const reason = `policy unavailable: ${(err as Error).message}`
        refusal = { refusedBy: gate.unavailable, reason, reasonCode: REASON_CODE.serverUnavailable }
      }
      if (refusal !== undefined) {
        await tell(observers, { client, refusedBy: refusal.refusedBy, username, password, reason: refusal.reason })
        // aedes answers an MQTT 3.1.1 client with CONNACK return code 5, "not
        // authorized"; an MQTT 5 client (aedes 2) hears the refusal's reason
        // code, through aedes where it has one for it (0x85-0x88), else written here.
        const reasonCode = speaksV5(client) ? refusal.reasonCode ?? REASON_CODE.notAuthorized : undefined
        const carried = reasonCode === undefined ? 5 : aedesReturnCode(reasonCode)
        const err = Object.assign(new Error(`not authorized: ${refusal.reason}`), { returnCode: carried ?? 5 })
        return carried === undefined ? { err, success: false, reasonCode } : { err, success: false }
      }
    }
    let user = username
    for (const map of mappers) user = map(client, user)
    const { err, success } = await new Promise<Outcome>(resolve => {
      try {
        authenticate.call(broker, client, user, password as Buffer, (e, s) => { resolve({ err: e, success: s }) })
      } catch (thrown) {
        // The client gets its refusal, then the exception goes on as an
        // uncaught one would (a second resolve is a no-op).
        resolve({ err: Object.assign(new Error('authenticate threw'), { returnCode: 5 as const }), success: false })
        rethrowLater(thrown)
      }
    })
    if (err !== null || success !== true) {
      const reason = err?.message ?? 'bad user name or password'
      await tell(observers, { client, refusedBy: 'authentication', username: user, password, reason })
    }
    return { err, success }
  }
  wrapHook(broker, 'authenticate', (authenticate, client, username, password, done) => {
    run(authenticate, client, username, password).then(r => {
      // A CONNACK the chain writes itself (refuseV5) leaves aedes' callback uncalled, see there.
      if (r.reasonCode === undefined || r.err === null) done(r.err, r.success)
      else refuseV5(client, r.reasonCode, r.err)
    }, rethrowLater)
  })
  const chain: AuthChain = {
    gate: (fn, unavailable) => { gates.push({ fn, unavailable }) },
    username: fn => { mappers.push(fn) },
    failed: fn => { observers.push(fn) }
  }
  Object.defineProperty(broker, CHAIN, { value: chain })
  return chain
}
