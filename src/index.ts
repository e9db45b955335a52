// The public contract of aedes-proxy-protocol, and nothing more.
import './augment.js'

// The PROXY plugin, and the `use()` aedes does not have.
export { proxyProtocol } from './plugin.js'
export type { ProxyProtocol, ProxyHandle } from './plugin.js'
export { withPlugins } from './use.js'
export type { AedesPlugin, PluggableAedes } from './use.js'
export type { AedesBroker } from './aedes-shape.js'

// The operator plugins: each reads `client.connDetails` only.
export { ipPolicy } from './operator/ip-policy.js'
export type { IpPolicy, IpPolicyOptions, IpRefusal } from './operator/ip-policy.js'
export type { RateLimit, RateLimitStore } from './operator/rate-limit.js'
export { unauthorizedClients } from './operator/unauthorized.js'
export type {
  UnauthorizedClients, UnauthorizedClientsOptions, UnauthorizedClientsEvents
} from './operator/unauthorized.js'
export type { UnauthorizedClient, UnauthorizedAttempt, UnauthorizedStore } from './operator/unauthorized-store.js'
export { sessions } from './operator/sessions.js'
export type { Sessions, SessionsOptions, Session, SessionStore, CounterSource } from './operator/sessions.js'
export type { TlsAt, ClientAddress } from './operator/client-address.js'

// Shared stores, for brokers behind one load balancer (Redis through the user's ioredis client).
export { redisUnauthorizedStore } from './operator/redis-unauthorized-store.js'
export type { RedisUnauthorizedStore, RedisUnauthorizedStoreOptions } from './operator/redis-unauthorized-store.js'
export { redisSessionStore } from './operator/redis-session-store.js'
export type { RedisSessionStore, RedisSessionStoreOptions } from './operator/redis-session-store.js'
export { rateLimiterStore } from './operator/rate-limiter-store.js'
export type { RateLimiterStore, RateLimiterStoreOptions, RateLimiterLike } from './operator/rate-limiter-store.js'
export type { RedisClient } from './operator/redis-client.js'
export type { MaybePromise, RefusedBy } from './auth-chain.js'

// Options, events and what the broker sees.
export { LISTENER_NAMES, isAddressRange, listenerEnvName, listenerTrustedEnvName } from './options.js'
export type {
  ProxyProtocolOptions, ListenerOptions, WebSocketListenerOptions, ForwardedHeader, ListenerSettings, ListenerName,
  ResolvedOptions, Logger, ProxyMode
} from './options.js'
export type { ConnectionEvent, HeaderEvent, RejectedEvent, ProxyProtocolEvents } from './events.js'
export type { ReadFailure } from './reader.js'
export type { ListenerStats } from './stats.js'
export type { ConnDetails, SocketEndpoint } from './conn-details.js'
export type { AttachableServer } from './handoff.js'

// Errors.
export { ProxyProtocolError, PROXY_ERROR_CODES, type ProxyErrorCode } from './protocol/errors.js'
export { OptionsError, UsageError, type OptionsIssue } from './errors.js'

// The pure parser and the wire's TLV numbers.
export { parseHeader } from './protocol/parse.js'
export type {
  Endpoint, ParseLimits, ParseResult, ProxyHeader, ProxiedHeader, UnproxiedHeader
} from './protocol/header.js'
export type { RawTlv, SslInfo, TlvSet } from './protocol/tlv.js'
export type { CloudTlvs } from './protocol/tlvparse/cloud.js'
export {
  PP2_TYPE_ALPN, PP2_TYPE_AUTHORITY, PP2_TYPE_CRC32C, PP2_TYPE_NOOP, PP2_TYPE_UNIQUE_ID, PP2_TYPE_SSL,
  PP2_SUBTYPE_SSL_VERSION, PP2_SUBTYPE_SSL_CN, PP2_SUBTYPE_SSL_CIPHER, PP2_SUBTYPE_SSL_SIG_ALG, PP2_SUBTYPE_SSL_KEY_ALG,
  PP2_SUBTYPE_SSL_GROUP, PP2_SUBTYPE_SSL_SIG_SCHEME, PP2_SUBTYPE_SSL_CLIENT_CERT, PP2_TYPE_NETNS,
  PP2_CLIENT_SSL, PP2_CLIENT_CERT_CONN, PP2_CLIENT_CERT_SESS
} from './protocol/tlv.js'
export {
  PP2_TYPE_GCP, PP2_TYPE_AWS, PP2_SUBTYPE_AWS_VPCE_ID, PP2_TYPE_AZURE, PP2_SUBTYPE_AZURE_PRIVATEENDPOINT_LINKID
} from './protocol/tlvparse/cloud.js'

// A peer's string as a log field, and once-a-minute lines, as the plugins write them.
export { logText } from './user-code.js'
export { oncePerMinute, type OncePerMinute, type LogLine } from './log-collapse.js'
