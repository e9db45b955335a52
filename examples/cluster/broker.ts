// One node of a cluster of aedes brokers behind a load balancer: a plain-TCP
// MQTT listener that requires a PROXY header (v1 or v2) on every connection,
// sharing subscriptions, retained messages, sessions and the message bus with
// the other nodes through Redis (mqemitter-redis and aedes-persistence-redis).
//
//   REDIS_PORT=6379 NODE_ID=node1 PORT=1884 npx tsx examples/cluster/broker.ts
//   REDIS_PORT=6379 NODE_ID=node2 PORT=1885 npx tsx examples/cluster/broker.ts
//
// Environment:
//   REDIS_URL   redis://[user:password@]host[:port][/db]   (wins over REDIS_HOST/REDIS_PORT)
//   REDIS_HOST  default 127.0.0.1
//   REDIS_PORT  default 6379
//   HOST        address to listen on, default 127.0.0.1
//   PORT        port to listen on, default 1884 (0: any free port)
//   NODE_ID     this node's name in its logs and its aedes broker id, default node-<pid>
//   TRUSTED_PROXIES  the load balancers allowed to send a header: addresses or
//               CIDR ranges, comma-separated, default 127.0.0.0/8 (HAProxy on
//               this machine); anyone else is refused before a byte is read
//
// Prints `node <id>: tcp listener on <host>:<port>, PROXY protocol required`
// once it serves, then one JSON line per client connect and disconnect with
// the client's real address and port (and the load balancer's, as `proxy`),
// and one per refused connection ({"event":"refused",...}; health checks that
// send nothing or a LOCAL header are not refused).
import net from 'node:net'
import { Aedes, type Client } from 'aedes'
import mqemitterRedis from 'mqemitter-redis'
import aedesPersistenceRedis, { type RedisConnectionOptions } from 'aedes-persistence-redis'
import { proxyProtocol, withPlugins } from 'aedes-proxy-protocol'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 1884)
const nodeId = process.env.NODE_ID ?? `node-${process.pid}`
const trustedProxies = (process.env.TRUSTED_PROXIES ?? '127.0.0.0/8').split(/[\s,]+/).filter(s => s !== '')

/** ioredis options from REDIS_URL, or REDIS_HOST and REDIS_PORT. */
function redisOptions (): RedisConnectionOptions {
  const text = process.env.REDIS_URL
  if (text === undefined || text === '') {
    return { host: process.env.REDIS_HOST ?? '127.0.0.1', port: Number(process.env.REDIS_PORT ?? 6379) }
  }
  const url = new URL(text)
  if (url.protocol !== 'redis:') throw new Error(`REDIS_URL: expected redis://host:port, got ${text}`)
  const db = url.pathname.replace(/^\//, '')
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 6379 : Number(url.port),
    ...(url.username !== '' ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password !== '' ? { password: decodeURIComponent(url.password) } : {}),
    ...(db !== '' ? { db: Number(db) } : {})
  }
}

const redis = redisOptions()
const where = `${redis.host ?? '127.0.0.1'}:${redis.port ?? 6379}`
// The message bus: a PUBLISH on any node reaches the subscribers on every node.
const mq = mqemitterRedis(redis)
// Subscriptions, retained messages, offline queues and wills, in Redis.
const persistence = aedesPersistenceRedis(redis)

// mqemitter-redis reports connection problems on `state`; an 'error' without a
// listener would end the process. ioredis keeps reconnecting meanwhile.
;(mq as unknown as { state: NodeJS.EventEmitter }).state.on('error', (err: Error) => {
  console.error(JSON.stringify({ event: 'redis-error', node: nodeId, redis: where, reason: err.message }))
})

function describe (client: Client): Record<string, unknown> {
  const d = client.connDetails
  // The package's log vocabulary: the real client in ipAddress/port, the load balancer in peer.
  return { node: nodeId, listener: d?.listener, clientId: client.id, ipAddress: d?.ipAddress, port: d?.port, peer: d?.peer }
}

// Resolves once Redis has answered (persistence.setup reads the stored subscriptions).
const broker = withPlugins(await Aedes.createBroker({ id: nodeId, mq, persistence }))

// The plugin logs its refusals (what refused, the real peer, the code and, for a
// misconfiguration, what to change) through `logger`: here one JSON line each on
// stderr; load-balancer probes, at debug, are left out.
const log = (record: object, msg?: string): void => { console.warn(JSON.stringify({ ...record, node: nodeId, msg })) }
const proxy = broker.use(proxyProtocol({ proxyEnabled: true, trustedProxies, logger: { debug: () => {}, info: log, warn: log, error: log } }))

broker.on('client', client => { console.log(JSON.stringify({ event: 'connect', ...describe(client) })) })
broker.on('clientDisconnect', client => { console.log(JSON.stringify({ event: 'disconnect', ...describe(client) })) })

const server = net.createServer(broker.handle) // the usual aedes line, unchanged
proxy.attach(server) // read the header before aedes sees a byte
server.listen(port, host, () => {
  const address = server.address() as net.AddressInfo
  console.log(`node ${nodeId}: tcp listener on ${address.address}:${address.port}, PROXY protocol required from ${trustedProxies.join(', ')}, state in redis ${where}`)
})

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return
    stopping = true
    setTimeout(() => process.exit(1), 5000).unref()
    server.close()
    // broker.close() disconnects the clients and closes the bus; the
    // persistence has its own connection to Redis.
    broker.close(() => {
      void persistence.destroy().finally(() => process.exit(0))
    })
  })
}
