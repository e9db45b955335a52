// The connect and disconnect lines of the ready-to-run broker, in the log
// vocabulary of the package (docs/api.md, "Log fields").
import type { Aedes, Client } from 'aedes'
import { logText, type ConnDetails, type OncePerMinute } from 'aedes-proxy-protocol'

/** The part of a pino logger this file writes to. */
export interface InfoLogger { info: (record: object, message: string) => void }

/** Where TLS was: terminated by the broker, by the proxy (its SSL TLV says so), or nowhere. */
export type TlsAt = 'broker' | 'proxy' | false

/**
 * Why a client went, as a disconnect line says it: `client disconnected`
 * (a DISCONNECT packet), `keepalive timeout`, `broker shutting down`,
 * `connection closed`, or the message of the error that ended it.
 */
export type DisconnectReason = string

/**
 * The TLS facts of a connection: where TLS was, and the client certificate's
 * CN where one was verified, as a log field ({@link logText}).
 */
export function tlsFacts (d: ConnDetails | null | undefined): { tls: TlsAt, cn?: string } {
  if (d == null) return { tls: false }
  if (d.isTls) {
    const cn = d.certAuthorized === true ? d.cert?.subject.CN : undefined
    return typeof cn === 'string' ? { tls: 'broker', cn: logText(cn) } : { tls: 'broker' }
  }
  const ssl = d.proxy?.tlvs.ssl
  if (ssl?.clientSsl !== true) return { tls: false }
  return ssl.verified && ssl.cn !== undefined ? { tls: 'proxy', cn: logText(ssl.cn) } : { tls: 'proxy' }
}

/** A client's string as a log field: the plugins' one rule ({@link logText}). */
const clientText = (text: string | undefined): string | undefined => text === undefined ? undefined : logText(text)

/** Why a connection failed before its CONNECT was accepted: a fixed set, for a metric's label. */
export const CONNECTION_ERROR_REASONS = [
  'protocol-version', 'client-id-rejected', 'keepalive-limit', 'connect-timeout',
  'malformed-packet', 'socket-error', 'other'
] as const
export type ConnectionErrorReason = typeof CONNECTION_ERROR_REASONS[number]

/** aedes' messages for a refused CONNECT, and what they are. */
const CONNECT_REFUSALS: Readonly<Record<string, ConnectionErrorReason>> = {
  'unacceptable protocol version': 'protocol-version',
  'identifier rejected': 'client-id-rejected',
  'keep alive limit exceeded': 'keepalive-limit',
  'connect did not arrive in time': 'connect-timeout'
}

/** mqtt-packet's parse errors start with these words. */
const MALFORMED =
  /^(Invalid|Cannot parse|Packet|Malformed|Not supported|Unknown property|Connect flag|Will (Retain|QoS)|Protocol)/

/** The reason an error before CONNECT is counted under. */
export function connectionErrorReason (err: Error & { code?: unknown }): ConnectionErrorReason {
  const known = CONNECT_REFUSALS[err.message]
  if (known !== undefined) return known
  if (typeof err.code === 'string') return 'socket-error'
  return MALFORMED.test(err.message) ? 'malformed-packet' : 'other'
}

/** Why a client went when a new connection with its client id took its place. */
export const TAKEN_OVER = 'taken over by a new connection with the same client id'

/** What the broker knows of one connected client, for its lines. */
interface Seen { readonly since: number, reason?: DisconnectReason }

/**
 * Logs `connect` (who, from where, through what) and `disconnect` (why, after
 * how long) for every client. `usernames` holds the user name each client
 * logged in with (the broker's authenticate fills it).
 * @returns `shuttingDown()`, which marks every disconnect from then on as the
 *   broker's shutdown, and `accepted(client)`, called when a login succeeds,
 *   which marks a connected client with the same id as taken over; with
 *   `onLogin` (a cluster member's), a login on another node does the same.
 */
export function logActivity (broker: Aedes, logger: InfoLogger, usernames: WeakMap<Client, string>,
  onDisconnect?: (reason: DisconnectReason) => void,
  onLogin?: (fn: (node: string, clientId: string) => void) => void
): { shuttingDown: () => void, accepted: (client: Client) => void } {
  const seen = new WeakMap<Client, Seen>()
  // aedes' connected clients by id (one object for the broker's life; its types leave it out).
  const clients = (broker as Aedes & { clients: Record<string, Client | undefined> }).clients
  let shuttingDown = false
  broker.on('client', (client: Client) => {
    seen.set(client, { since: Date.now() })
    const d = client.connDetails
    logger.info({
      event: 'connect',
      listener: d?.listener,
      clientId: clientText(client.id),
      username: clientText(usernames.get(client)),
      ipAddress: d?.ipAddress,
      port: d?.port,
      isProxy: d?.isProxy,
      peer: d?.peer,
      ...tlsFacts(d)
    }, 'client connected')
  })
  // aedes tells why before it tells that the client went.
  broker.on('clientError', (client: Client, err: Error) => {
    const s = seen.get(client)
    if (s !== undefined) s.reason ??= err.message
  })
  broker.on('keepaliveTimeout', (client: Client) => {
    const s = seen.get(client)
    if (s !== undefined) s.reason ??= 'keepalive timeout'
  })
  broker.on('clientDisconnect', (client: Client) => {
    const s = seen.get(client)
    const d = client.connDetails
    // aedes sets _disconnected only for a DISCONNECT packet.
    const clean = (client as Client & { _disconnected?: boolean })._disconnected === true
    // An error's message may quote what the client sent: it is a log field like the client id.
    const reason = shuttingDown
      ? 'broker shutting down'
      : clean ? 'client disconnected' : logText(s?.reason ?? 'connection closed')
    onDisconnect?.(reason)
    logger.info({
      event: 'disconnect',
      listener: d?.listener,
      clientId: clientText(client.id),
      username: clientText(usernames.get(client)),
      ipAddress: d?.ipAddress,
      port: d?.port,
      reason,
      duration: s === undefined ? undefined : Date.now() - s.since
    }, `client disconnected (${reason})`)
  })
  // A client id that logged in on another node: aedes closes it here next.
  onLogin?.((node, clientId) => {
    const previous = node === broker.id ? undefined : clients[clientId]
    const s = previous === undefined ? undefined : seen.get(previous)
    if (s !== undefined) s.reason ??= TAKEN_OVER
  })
  return {
    shuttingDown: () => { shuttingDown = true },
    accepted: client => {
      // aedes closes the connected client with this id once the new one is registered.
      const previous = clients[client.id]
      const s = previous === undefined || previous === client ? undefined : seen.get(previous)
      if (s !== undefined) s.reason ??= TAKEN_OVER
    }
  }
}

/**
 * Logs (once a minute per reason) and counts every connection that failed
 * before its CONNECT was accepted: aedes' `connectionError`, which nothing
 * else reports (an MQTT 5 CONNECT, bytes that are not MQTT after a good
 * PROXY header, no CONNECT in time).
 */
export function logConnectionErrors (broker: Aedes, logs: OncePerMinute,
  count: (reason: ConnectionErrorReason) => void): void {
  broker.on('connectionError', (client: Client, err: Error) => {
    const reason = connectionErrorReason(err)
    count(reason)
    const d = client.connDetails
    const error = clientText(err.message)
    logs.say(`connection-error ${reason}`,
      () => [
        { event: 'connection-error', reason, listener: d?.listener, ipAddress: d?.ipAddress, port: d?.port, error },
        `connection closed before its CONNECT was accepted (${reason}): ${String(error)}`
      ],
      n => [{ event: 'connection-error', reason, repeated: n },
        `${n} more connections closed before their CONNECT was accepted in the last minute (${reason})`])
  })
}
