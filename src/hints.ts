// Every sentence the plugin says to an operator about a refused connection:
// what is misconfigured and which setting to change.
import mqttPacket from 'mqtt-packet'
import { listenerEnvName, listenerTrustedEnvName, type ListenerName } from './options.js'
import type { ProxyErrorCode } from './protocol/errors.js'
import { printable } from './protocol/text.js'

/** The kind of server each listener is attached as. */
const SERVER_KIND: Readonly<Record<ListenerName, string>> = { tcp: 'net', ssl: 'tls', ws: 'http', wss: 'https' }

/**
 * The client id of an MQTT CONNECT at the start of `bytes`, read with
 * mqtt-packet (the parser aedes itself uses), or undefined.
 */
export function connectClientId (bytes: Buffer): string | undefined {
  if (bytes[0] !== 0x10) return undefined
  let clientId: string | undefined
  const parser = mqttPacket.parser()
  parser.on('packet', packet => { if (packet.cmd === 'connect') clientId = packet.clientId })
  parser.on('error', () => {})
  try { parser.parse(bytes) } catch { return undefined }
  return clientId
}

/** What the first bytes of a connection look like, for a misconfiguration hint. */
export function describeFirstBytes (data: Uint8Array): string {
  const first = data[0] as number
  if (first === 0x10) return 'an MQTT CONNECT packet (0x10)'
  if (first === 0x16) return 'a TLS handshake (0x16)'
  const text = Buffer.from(data.subarray(0, 8)).toString('latin1')
  if (/^(GET|POST|PUT|HEAD|OPTIONS|DELETE|PATCH|CONNECT|TRACE) /.test(text)) {
    return `an HTTP request ("${text.split(' ')[0] as string}")`
  }
  return `byte 0x${first.toString(16).padStart(2, '0')}`
}

/** How a connection that is not PROXY started, and the client id when it was an MQTT CONNECT. */
export function describeStart (head: Buffer): { started: string, clientId?: string } {
  const clientId = connectClientId(head)
  return clientId !== undefined
    ? { started: `an MQTT CONNECT from client ${printable(clientId)}`, clientId }
    : { started: describeFirstBytes(head) }
}

/**
 * One sentence that tells an operator what is misconfigured and which setting
 * to change (the pitfalls of TBMQ's PROXY protocol documentation), or
 * undefined when the refusal is not a configuration problem.
 */
export function misconfigurationHint (
  code: ProxyErrorCode, listener: ListenerName, started: string | undefined
): string | undefined {
  const env = listenerEnvName(listener)
  if (code === 'PROXY_ERR_UNEXPECTED_HEADER') {
    return `the ${listener} listener received a PROXY protocol header but PROXY protocol is off there: ` +
      'the load balancer sends it (send-proxy / send-proxy-v2 / proxy_protocol on), ' +
      'so either turn it on for this listener ' +
      `(listeners.${listener}.proxyEnabled: true, or ${env}=true) or stop the load balancer from sending it`
  }
  if (code === 'PROXY_ERR_NOT_PROXY') {
    return `the ${listener} listener requires a PROXY protocol header ` +
      `but the connection started with ${started ?? 'something else'}: ` +
      'the load balancer is not sending PROXY protocol ' +
      '(HAProxy: send-proxy-v2; nginx: proxy_protocol on; AWS NLB: proxy_protocol_v2.enabled), ' +
      'or the client bypassed it; if this listener is not behind a PROXY-speaking proxy, ' +
      `set listeners.${listener}.proxyEnabled: false (or ${env}=false)`
  }
  if (code === 'PROXY_ERR_NOT_ATTACHED') {
    return `PROXY protocol is on for the ${listener} listener, ` +
      'so its server must be given to proxy.attach(server) before it listens'
  }
  return undefined
}

/** The messages of refusals the intake decides itself, before or without the reader. */
export const refusalMessage = {
  untrusted: (address: string, listener: ListenerName): string =>
    `${address} is not in trustedProxies for the ${listener} listener, which requires a PROXY header: ` +
    `if it is your load balancer, add it (listeners.${listener}.trustedProxies or trustedProxies; ` +
    `${listenerTrustedEnvName(listener)} or MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES); ` +
    'otherwise it went around the load balancer',
  tooManyPending: (maxPending: number, listener: ListenerName): string =>
    `${maxPending} connections are already waiting for their header on the ${listener} listener (maxPending)`,
  peerless: (): string => 'connection reset before its peer address could be read',
  notAttached: (listener: ListenerName): string =>
    `PROXY protocol is on for the ${listener} listener but its server was not attached: ` +
    `call attach(server) on the ${SERVER_KIND[listener]} server`,
  /** A header where it may not come: refused on its signature, unparsed. */
  unexpected: (code: 'PROXY_ERR_UNEXPECTED_HEADER' | 'PROXY_ERR_UNTRUSTED'): string =>
    code === 'PROXY_ERR_UNTRUSTED'
      ? 'a PROXY header from a peer that is not in trustedProxies (MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES)'
      : 'a PROXY header arrived on a listener where PROXY protocol is off'
}
