// Issue 12's cluster as an operator runs it, for the bin-cluster tests:
// `npm start` nodes with REDIS_URL on one redis-server, behind the documented
// HAProxy block under "Scaling out" as printed (only the addresses and ports
// swapped for loopback ones, HAProxy connecting from its own address, and a
// stats socket to read its view of the nodes).
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, haproxyStats, startHaproxy, until, type RunningProgram } from './programs.js'
import type { Spawned } from './spawn.js'
import { announcedPort, startNpmBroker } from './npm-start.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** The address HAProxy connects to the nodes from (their MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES). */
export const HAPROXY_SOURCE = '127.0.0.9'

/** The documented cluster block (the one ```haproxy block under "Scaling out" in docs/load-balancers.md). */
export function readmeClusterBlock (): string {
  const doc = readFileSync(join(root, 'docs', 'load-balancers.md'), 'utf8')
  const start = doc.indexOf('## Scaling out')
  const section = doc.slice(start, doc.indexOf('\n## ', start + 3))
  const blocks = [...section.matchAll(/^```haproxy\n([\s\S]*?)^```$/gm)].map(m => m[1] as string)
  assert.equal(blocks.length, 1, 'one HAProxy block under Scaling out')
  return blocks[0] as string
}

export interface ClusterNode { readonly id: string, readonly process: Spawned, readonly mqtt: number, readonly admin: number }

/**
 * `npm start` as node `id` on the redis-server at 127.0.0.1:`redisPort`,
 * PROXY required from HAProxy, 4 attempts per address refilled over 40 s
 * (a whole test stays in one window); `env` on top. Stopped (SIGKILL) in t.after.
 */
export async function startClusterNode (t: TestContext, id: string, redisPort: number, env: Record<string, string> = {}): Promise<ClusterNode> {
  const broker = startNpmBroker(t, {
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    TB_SERVICE_ID: id,
    LISTENER_TCP_BIND_PORT: '0',
    ADMIN_BIND_PORT: '0',
    MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES: HAPROXY_SOURCE,
    MQTT_IP_RATE_LIMIT: '0.1',
    MQTT_IP_RATE_BURST: '4',
    ...env
  }, id)
  return { id, process: broker, mqtt: await announcedPort(broker, 'tcp'), admin: await announcedPort(broker, 'admin') }
}

export interface ClusterFront {
  readonly program: RunningProgram
  /** HAProxy's frontend port on 127.0.0.1 */
  readonly frontend: number
  /** Each server's status as HAProxy sees it (`UP`, `DOWN`, `DOWN 1/2`, ...), by name. */
  readonly status: () => Promise<Record<string, string>>
  /** HAProxy's `show stat` rows of the servers, by name. */
  readonly servers: () => Promise<Record<string, Record<string, string>>>
}

/**
 * HAProxy with the README's block in front of `nodes` (a server line per
 * node, by name); resolves once every server is UP. Stopped in t.after.
 */
export async function startClusterHaproxy (t: TestContext, nodes: readonly ClusterNode[]): Promise<ClusterFront> {
  const frontend = await freePort()
  let statsSocket = ''
  const program = await startHaproxy(dir => {
    statsSocket = join(dir, 'admin.sock')
    return readmeClusterBlock()
      .replace(/^#.*\n/gm, '')
      .replace(/^(\s*bind\s+)\S+/m, `$1127.0.0.1:${frontend}`)
      .replace(/^(\s*server\s+(node\d)\s+)\S+/gm, (_all, head: string, id: string) => {
        const node = nodes.find(n => n.id === id)
        assert.ok(node !== undefined, `a node for server ${id}`)
        return `${head}127.0.0.1:${node.mqtt}`
      })
      .replace(/^global\n/m, `global\n    stats socket ${statsSocket} mode 600 level admin\n`)
      .replace(/^(backend brokers\n)/m, `$1    source ${HAPROXY_SOURCE}\n`)
  }, { readyCheck: async dir => (await haproxyStats(join(dir, 'admin.sock'))).some(r => r.pxname === 'mqtt' && r.svname === 'FRONTEND') })
  t.after(() => program.stop())
  const servers = async (): Promise<Record<string, Record<string, string>>> => {
    const rows = (await haproxyStats(statsSocket)).filter(r => r.pxname === 'brokers' && (r.svname ?? '').startsWith('node'))
    return Object.fromEntries(rows.map(r => [r.svname ?? '', r]))
  }
  const status = async (): Promise<Record<string, string>> => Object.fromEntries(Object.entries(await servers()).map(([name, row]) => [name, row.status ?? '']))
  await until(async () => Object.values(await status()).filter(s => s === 'UP').length === nodes.length, 15_000, `${nodes.length} nodes UP in HAProxy`)
  return { program, frontend, status, servers }
}

/** GET `path` on the node's admin endpoint, as JSON. */
export async function adminGet<T> (node: ClusterNode, path: string): Promise<T> {
  return await (await fetch(`http://127.0.0.1:${node.admin}${path}`)).json() as T
}
