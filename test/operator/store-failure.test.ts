import { test } from 'node:test'
import assert from 'node:assert/strict'
import { detached, storeFailed } from '../../src/operator/store-failure.js'
import type { Logger } from '../../src/options.js'

function recorder (): { logger: Logger, lines: string[] } {
  const lines: string[] = []
  const log = (obj: object, msg?: string): void => { lines.push(`${msg ?? ''} ${JSON.stringify(obj)}`) }
  return { logger: { debug: log, info: log, warn: log, error: log }, lines }
}

test('a store that throws or rejects is logged, never thrown', async () => {
  const { logger, lines } = recorder()
  assert.doesNotThrow(() => { detached('sessions: adding a client', logger, () => { throw new Error('redis down') }) })
  detached('sessions: removing a client', logger, async () => { await Promise.resolve(); throw new Error('redis gone') })
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(lines, [
    'sessions: adding a client: the store failed {"event":"store-failed","operation":"sessions: adding a client","reason":"redis down"}',
    'sessions: removing a client: the store failed {"event":"store-failed","operation":"sessions: removing a client","reason":"redis gone"}'
  ])
  assert.doesNotThrow(() => { storeFailed('x', undefined, new Error('no logger')) })
})

test('a store that stays away: one line per operation, not one per failure', () => {
  const { logger, lines } = recorder()
  for (let i = 0; i < 5; i++) storeFailed('sessions: the heartbeat', logger, new Error('redis down'))
  storeFailed('sessions: listing for $SYS', logger, new Error('redis down'))
  assert.deepEqual(lines, [
    'sessions: the heartbeat: the store failed {"event":"store-failed","operation":"sessions: the heartbeat","reason":"redis down"}',
    'sessions: listing for $SYS: the store failed {"event":"store-failed","operation":"sessions: listing for $SYS","reason":"redis down"}'
  ])
})
