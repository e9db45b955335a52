// aedes_refused_logins_total counts every refused login once: with the
// in-process list (its entry stored, no second count), and with REDIS_URL
// while Redis is gone, when the unauthorized list cannot store the entry
// (the refusal is still a `refused` line, and still counted).
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { connectClient } from '../../../../test/helpers/client.js'
import { outcome } from '../../../../test/helpers/plain-broker.js'
import { requireProgram } from '../../../../test/helpers/programs.js'
import { startRedis } from '../../../../test/helpers/redis.js'
import { startDirectBroker, type DirectBroker } from '../../../../test/helpers/npm-start.js'

type Running = DirectBroker

async function start (t: TestContext, env: Record<string, string>): Promise<Running> {
  return await startDirectBroker(t, env, 'npm start')
}

/** The aedes_refused_logins_total samples, by `refused_by/reason`. */
async function refusedLogins (node: Running): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${node.admin}/metrics`)).text()
  const counts: Record<string, number> = {}
  for (const m of text.matchAll(/^aedes_refused_logins_total\{refused_by="([^"]+)",reason="([^"]+)"\} (\S+)$/gm)) counts[`${m[1] as string}/${m[2] as string}`] = Number(m[3])
  return counts
}

const refusedLines = (node: Running): string[] => node.process.lines.filter(l => l.includes('"event":"refused"'))
const login = { listener: 'tcp' as const, username: 'device', password: 'secret' }

test('in-process list: each refused login is counted once, by what refused it (its entry stored, not counted twice)', async (t) => {
  const node = await start(t, { MQTT_IP_DENY_LIST: '127.0.0.6', MQTT_IP_RATE_LIMIT: '0.1', MQTT_IP_RATE_BURST: '1' })
  assert.deepEqual(await refusedLogins(node), { 'authentication/bad-credentials': 0 })
  assert.equal(await outcome(connectClient({ ...login, port: node.mqtt, localAddress: '127.0.0.3', clientId: 'intruder', password: 'wrong' })), 4)
  assert.deepEqual(await refusedLogins(node), { 'authentication/bad-credentials': 1 })
  // 127.0.0.3 has spent its one attempt.
  assert.equal(await outcome(connectClient({ ...login, port: node.mqtt, localAddress: '127.0.0.3', clientId: 'again' })), 5)
  assert.equal(await outcome(connectClient({ ...login, port: node.mqtt, localAddress: '127.0.0.6', clientId: 'denied' })), 5)
  assert.deepEqual(await refusedLogins(node), { 'authentication/bad-credentials': 1, 'rate-limit/rate-limited': 1, 'ip-policy/ip-denied': 1 })
  // The log pipe and the CONNACK are two channels: wait for the last line before counting lines.
  await node.process.waitFor(l => l.includes('"event":"refused"') && l.includes('"clientId":"denied"'), 10_000)
  assert.equal(refusedLines(node).length, 3, refusedLines(node).join('\n'))
  // Each was stored, so each was also an 'unauthorized' entry: still one count each.
  const entries = await (await fetch(`http://127.0.0.1:${node.admin}/unauthorized`)).json() as Array<{ clientId: string }>
  assert.deepEqual(entries.map(e => e.clientId).sort(), ['again', 'denied', 'intruder'])
  assert.deepEqual(await refusedLogins(node), { 'authentication/bad-credentials': 1, 'rate-limit/rate-limited': 1, 'ip-policy/ip-denied': 1 })
  assert.equal((await node.process.stop('SIGTERM')).code, 0)
})

test('REDIS_URL with Redis gone: a refusal whose entry cannot be stored is counted once, as policy-unavailable', async (t) => {
  const bin = requireProgram(t, 'redis-server', 'redis-server')
  if (bin === undefined) return
  const redis = await startRedis(bin)
  t.after(() => redis.stop())
  const node = await start(t, { REDIS_URL: `redis://127.0.0.1:${redis.port}`, TB_SERVICE_ID: 'node-1', MQTT_IP_RATE_LIMIT: '0.1', MQTT_IP_RATE_BURST: '4' })
  // With Redis up: a wrong password, stored in Redis, one count.
  assert.equal(await outcome(connectClient({ ...login, port: node.mqtt, localAddress: '127.0.0.3', clientId: 'intruder', password: 'wrong' })), 4)
  assert.deepEqual(await refusedLogins(node), { 'authentication/bad-credentials': 1 })

  await redis.stop()
  await node.process.waitFor(l => l.includes('"event":"redis"') && l.includes('"state":"down"'), 10_000)
  // The rate limit cannot ask Redis: refused (the default); the unauthorized list cannot write either.
  assert.equal(await outcome(connectClient({ ...login, port: node.mqtt, localAddress: '127.0.0.4', clientId: 'in-outage' })), 5)
  assert.deepEqual(await refusedLogins(node), { 'authentication/bad-credentials': 1, 'rate-limit/policy-unavailable': 1 })
  await node.process.waitFor(l => l.includes('"event":"refused"') && l.includes('"clientId":"in-outage"'), 10_000)
  const failed = node.process.lines.filter(l => l.includes('"event":"store-failed"') && l.includes('unauthorized clients'))
  assert.equal(failed.length, 1, 'the entry was not stored')
  const refused = refusedLines(node)
  assert.equal(refused.length, 2, refused.join('\n'))
  assert.match(refused[1] ?? '', /"refusedBy":"rate-limit".*"clientId":"in-outage".*"reason":"policy unavailable: /)
  // Still one: the lost entry is not counted again later.
  assert.deepEqual(await refusedLogins(node), { 'authentication/bad-credentials': 1, 'rate-limit/policy-unavailable': 1 })
  assert.equal((await node.process.stop('SIGTERM', 30_000)).code, 0)
})
