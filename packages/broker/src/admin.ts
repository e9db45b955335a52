// The admin endpoint (ADMIN_BIND_PORT): the probes (/health, /ready) for
// anyone; the client lists, stats and metrics for whoever holds ADMIN_TOKEN,
// or without one only for requests to a loopback host.
import http from 'node:http'
import type net from 'node:net'
import type { ProxyProtocol, Sessions, UnauthorizedClients } from 'aedes-proxy-protocol'
import type { Logger } from 'pino'
import { ADMIN_LIMITS } from './capacity.js'
import { CONTENT_TYPE, type Metrics } from './metrics.js'
import { bearerMatches, loopbackHost } from './startup.js'

/** Whether the broker serves: set once every listener is bound, cleared when it starts to shut down. */
export interface Readiness { ready: boolean }

/** What the endpoint answers from. */
export interface AdminSources {
  readonly readiness: Readiness
  readonly token: string | undefined
  readonly clients: Sessions
  readonly unauthorized: UnauthorizedClients
  readonly proxy: ProxyProtocol
  readonly metrics: Metrics
  /** An error's text fit to answer with (REDIS_URL's secrets hidden). */
  readonly hide: (text: string) => string
}

type Send = (status: number, body: unknown) => void

/** The admin endpoint's server, within ADMIN_LIMITS; not bound. */
export function adminServer (sources: AdminSources): http.Server {
  const { maxConnections, idleTimeout, headersTimeout, requestTimeout, keepAliveTimeout, checkInterval } = ADMIN_LIMITS
  const options = { headersTimeout, requestTimeout, keepAliveTimeout, connectionsCheckingInterval: checkInterval }
  const admin = http.createServer(options, (req, res) => { answer(sources, req, res) })
  admin.maxConnections = maxConnections
  admin.timeout = idleTimeout
  return admin
}

/** One request: the probes, then the token (or loopback host) check, then the route. */
function answer (sources: AdminSources, req: http.IncomingMessage, res: http.ServerResponse): void {
  const send: Send = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  }
  // The path and the query as a URL reads them: `?clientId=a?b` is the id `a?b`, `%2B` a `+` (a bare `+` is a space).
  // Prefixed, not resolved against a base: a target `//x/clients` stays that path, not host x.
  let target: URL
  try {
    target = new URL(`http://localhost${req.url ?? '/'}`)
  } catch { send(400, { error: 'not a request target' }); return }
  const path = target.pathname
  // The probes reveal nothing and a load balancer or Kubernetes calls them without a token.
  const get = req.method === 'GET' || req.method === 'HEAD'
  if (get && path === '/health') { send(200, { status: 'up' }); return }
  const { ready } = sources.readiness
  if (get && path === '/ready') { send(ready ? 200 : 503, { ready }); return }
  // With ADMIN_TOKEN set, every other request needs it: Authorization: Bearer <token>.
  if (sources.token !== undefined && !bearerMatches(req.headers.authorization, sources.token)) {
    res.setHeader('www-authenticate', 'Bearer')
    send(401, { error: 'this endpoint needs the ADMIN_TOKEN: Authorization: Bearer <token>' })
    return
  }
  // Without a token the endpoint is on loopback: a request naming another
  // host is a web page's (DNS rebinding), never an operator's.
  if (sources.token === undefined && !loopbackHost(req.headers.host)) {
    send(403, {
      error: 'without ADMIN_TOKEN the admin endpoint answers only requests to a loopback host ' +
        '(127.0.0.1, [::1], localhost)'
    })
    return
  }
  route(sources, req.method, target, res, send)
}

/** The operator's requests: the client lists (and clearing the unauthorized one), stats and metrics. */
function route (sources: AdminSources, method: string | undefined, target: URL, res: http.ServerResponse,
  send: Send): void {
  const { clients, unauthorized, proxy, metrics } = sources
  const path = target.pathname
  const fail = (err: unknown): void => { send(500, { error: sources.hide(String(err)) }) }
  if (method === 'GET' && path === '/clients') clients.list().then(list => { send(200, list) }, fail)
  else if (method === 'GET' && path === '/unauthorized') unauthorized.list().then(list => { send(200, list) }, fail)
  else if (method === 'DELETE' && path === '/unauthorized') clear(unauthorized, target.searchParams, send, fail)
  else if (method === 'GET' && path === '/stats') send(200, proxy.stats())
  else if (method === 'GET' && path === '/metrics') {
    metrics.registry.metrics().then(text => { res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(text) }, fail)
  } else {
    send(404, {
      error: 'GET /clients, GET /unauthorized, DELETE /unauthorized[?clientId=<id>], GET /stats, GET /metrics'
    })
  }
}

/**
 * DELETE /unauthorized: ?clientId=<id> (URL-encoded) clears that entry only
 * (404 when not listed); no query, all. Anything else is a mistake, not "all".
 */
function clear (unauthorized: UnauthorizedClients, query: URLSearchParams, send: Send,
  fail: (err: unknown) => void): void {
  const clientId = query.get('clientId') ?? undefined
  if ([...query.keys()].some(k => k !== 'clientId') || query.getAll('clientId').length > 1) {
    send(400, { error: 'DELETE /unauthorized takes ?clientId=<id> (one entry) or nothing (all)' })
    return
  }
  unauthorized.clear(clientId).then(removed => {
    if (clientId === undefined || removed !== 0) send(200, { removed })
    else send(404, { removed, error: `no entry for client id ${JSON.stringify(clientId)}` })
  }, fail)
}

/** The admin endpoint's listening line. */
export function announceAdmin (admin: net.Server, token: string | undefined, logger: Logger): void {
  const address = admin.address() as net.AddressInfo
  const { address: bindAddress, port: bindPort } = address
  logger.info({ event: 'listening', endpoint: 'admin', bindAddress, bindPort, token: token !== undefined },
    `admin endpoint on ${bindAddress}:${bindPort} (GET /health, /ready, /metrics, /clients, /unauthorized, /stats)`)
}
