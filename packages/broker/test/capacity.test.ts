// Past its open-file limit the broker drops connections itself (libuv
// accepts and closes them without a word when accept() fails with EMFILE):
// each counted in /metrics and logged once a minute.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { announcedPort, metric, NPM_START_ENV } from '../../../test/helpers/npm-start.js'
import { spawnProgram } from '../../../test/helpers/spawn.js'
import { until } from '../../../test/helpers/wait.js'
import { FILE_RESERVE, openFileLimit } from '../src/capacity.js'

const root = fileURLToPath(new URL('../../..', import.meta.url))

test('past its open-file limit the broker drops connections itself: counted (file-limit) and logged once', async (t) => {
  const LIMIT = 200
  const broker = spawnProgram('/bin/sh', ['-c', `ulimit -n ${LIMIT} && exec "$0" packages/broker/dist/broker.js`, process.execPath], {
    cwd: root,
    env: { ...process.env, ...NPM_START_ENV, MQTT_PROXY_PROTOCOL_ENABLED: 'false', LISTENER_TCP_BIND_PORT: '0', ADMIN_BIND_PORT: '0' },
    label: 'npm start (ulimit -n 200)',
    t
  })
  const [port, admin] = [await announcedPort(broker, 'tcp'), await announcedPort(broker, 'admin')]
  // Every series of the two counters is there from the start, at 0, so rate() sees the first one.
  const zero = ['aedes_dropped_connections_total{listener="tcp",reason="accept-error"}', 'aedes_connection_errors_total{reason="other"}', 'aedes_connection_errors_total{reason="protocol-version"}']
  const exposition = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text()
  for (const name of zero) assert.ok(exposition.split('\n').includes(`${name} 0`), `${name} 0 in /metrics`)
  const sockets: net.Socket[] = []
  t.after(() => { for (const s of sockets) s.destroy() })
  let closed = 0
  for (let i = 0; i < 300; i++) {
    const s = net.connect({ port, host: '127.0.0.1' })
    s.on('error', () => {})
    s.once('close', () => { closed++ })
    sockets.push(s)
  }
  const budget = LIMIT - FILE_RESERVE
  const series = 'aedes_dropped_connections_total{listener="tcp",reason="file-limit"}'
  await until(async () => closed === 300 - budget && await metric(admin, series) === 300 - budget, 15_000, `${300 - budget} connections dropped and counted`)
  const lines = broker.lines.filter(l => l.includes('"event":"dropped"'))
  assert.equal(lines.length, 1, 'one line for the minute')
  assert.match(lines[0] ?? '', /"level":40,.*"listener":"tcp","reason":"file-limit","peer":"127\.0\.0\.1","msg":"connection from 127\.0\.0\.1 dropped on the tcp listener: the broker holds as many connections as its open-file limit allows \(200, less 64 kept for itself\); raise it/)
  // The connections it kept are still served.
  assert.equal(sockets.filter(s => !s.destroyed).length, budget)
})

test('the open-file limit, from /proc/self/limits', () => {
  assert.ok((openFileLimit() ?? 0) > FILE_RESERVE)
  assert.equal(openFileLimit('/nonexistent/limits'), undefined)
})
