// `npm start` for the integration tests: packages/broker/dist/broker.js as an
// operator runs it behind a load balancer, on loopback only: tcp on
// 127.0.0.1, ws off, PROXY required from HAProxy's test address (127.0.0.9),
// a login; `env` on top of that.
import type { TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { spawnProgram, type Spawned } from './spawn.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** The environment every test broker starts from (a test's own `env` goes on top). */
export const NPM_START_ENV: Readonly<Record<string, string>> = {
  LISTENER_TCP_BIND_ADDRESS: '127.0.0.1',
  LISTENER_WS_ENABLED: 'false',
  MQTT_PROXY_PROTOCOL_ENABLED: 'true',
  MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES: '127.0.0.9',
  MQTT_AUTH_USERNAME: 'device',
  MQTT_AUTH_PASSWORD: 'secret'
}

/** Starts the broker; stopped (SIGKILL) in t.after. */
export function startNpmBroker (t: TestContext, env: Record<string, string>, label = 'npm start'): Spawned {
  return spawnProgram(process.execPath, ['packages/broker/dist/broker.js'], { cwd: root, env: { ...process.env, ...NPM_START_ENV, ...env }, label, t })
}

/** The port its `listening` line announces for `what` (a listener, or `admin`), once the line is there. */
export async function announcedPort (broker: Spawned, what: 'tcp' | 'ssl' | 'ws' | 'wss' | 'admin'): Promise<number> {
  const key = what === 'admin' ? '"endpoint":"admin"' : `"listener":"${what}"`
  const line = await broker.waitFor(l => l.includes('"event":"listening"') && l.includes(key), 20_000, `the ${what} listening line`)
  return (JSON.parse(line) as { bindPort: number }).bindPort
}

/** A broker that clients reach directly (no PROXY), with its tcp and admin ports. */
export interface DirectBroker { readonly process: Spawned, readonly mqtt: number, readonly admin: number }

/**
 * The broker without PROXY, tcp on 127.0.0.1 and the admin endpoint on
 * ephemeral ports, a login, `env` on top; its ports once announced.
 */
export async function startDirectBroker (t: TestContext, env: Record<string, string>, label = 'npm start'): Promise<DirectBroker> {
  const broker = spawnProgram(process.execPath, ['packages/broker/dist/broker.js'], {
    cwd: root,
    env: { ...process.env, LISTENER_TCP_BIND_ADDRESS: '127.0.0.1', LISTENER_TCP_BIND_PORT: '0', LISTENER_WS_ENABLED: 'false', ADMIN_BIND_PORT: '0', MQTT_AUTH_USERNAME: 'device', MQTT_AUTH_PASSWORD: 'secret', ...env },
    label,
    t
  })
  return { process: broker, mqtt: await announcedPort(broker, 'tcp'), admin: await announcedPort(broker, 'admin') }
}

/** A counter's value in the /metrics text, 0 when absent. */
export async function metric (adminPort: number, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text()
  const line = text.split('\n').find(l => l.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.split(' ')[1])
}
