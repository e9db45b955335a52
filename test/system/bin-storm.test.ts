// Issue 22, item 3: a reconnect storm through a PROXY sender. 5,000 clients
// connect at once through a real HAProxy (send-proxy-v2) to `npm start`; every
// one must get its CONNACK, and the broker must have seen each with its own
// address and source port. With Node's default listen backlog (511) the
// kernel's accept queue overflowed, the SYN-cookie fallback lost HAProxy's
// header and about 16 % of the clients were closed with nothing logged.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { freePort, startTestHaproxy, until } from '../helpers/programs.js'
import { announcedPort, startNpmBroker } from '../helpers/npm-start.js'
import { storm } from '../../support/storm.js'

const CLIENTS = 5000

test(`npm start behind HAProxy send-proxy-v2: ${CLIENTS} clients at once all get their CONNACK with their own address`, { timeout: 90_000 }, async (t) => {
  const broker = startNpmBroker(t, { LISTENER_TCP_BIND_PORT: '0' })
  const mqttPort = await announcedPort(broker, 'tcp')
  const fe = await freePort()
  const hap = await startTestHaproxy(t, {
    frontend: [`bind 127.0.0.1:${fe}`, `maxconn ${CLIENTS + 500}`],
    // HAProxy's usual connect timeout (its examples' 5 s): with the tests' 2 s its retries
    // hid the loss, at the price of seconds per retried client.
    backend: ['timeout connect 5s'],
    server: `server s1 127.0.0.1:${mqttPort} send-proxy-v2 source 127.0.0.9`
  })
  if (hap === undefined) return

  const result = await storm(fe, CLIENTS, { username: 'device', password: 'secret', timeoutMs: 30_000 })
  t.after(() => result.close())
  t.diagnostic(`last CONNACK after ${Math.round(result.lastConnackMs)} ms`)
  assert.deepEqual(result.lost, {}, `${CLIENTS - result.connected.length} of ${CLIENTS} clients lost`)
  assert.equal(result.connected.length, CLIENTS)

  // What the broker saw: each client's connect line, with the address and port the client had.
  const seen = new Map<string, { ipAddress: string, port: number }>()
  const read = (): number => {
    for (const line of broker.lines.splice(0)) {
      if (!line.includes('"event":"connect"')) continue
      const r = JSON.parse(line) as { clientId: string, ipAddress: string, port: number }
      seen.set(r.clientId, { ipAddress: r.ipAddress, port: r.port })
    }
    return seen.size
  }
  await until(() => read() >= CLIENTS, 15_000, `${CLIENTS} connect lines`)
  const wrong = result.connected.filter(c => seen.get(c.clientId)?.ipAddress !== c.address || seen.get(c.clientId)?.port !== c.port)
  assert.deepEqual(wrong.slice(0, 5).map(c => ({ client: c, broker: seen.get(c.clientId) })), [], `${wrong.length} clients seen with another address or port`)
})
