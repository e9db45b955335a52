import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Collapser, oncePerMinute } from '../src/log-collapse.js'
import { until } from './helpers/wait.js'

test('the first line of a kind in full; the rest of the window held back; the next window says how many', () => {
  let now = 0
  const c = new Collapser(60_000, () => now)
  assert.equal(c.admit('PROXY_ERR_UNEXPECTED_HEADER|tcp'), 0)
  for (let i = 0; i < 29; i++) {
    now += 2000 // a health check every 2 s
    assert.equal(c.admit('PROXY_ERR_UNEXPECTED_HEADER|tcp'), undefined)
  }
  assert.equal(c.admit('PROXY_ERR_UNEXPECTED_HEADER|ws'), 0, 'another listener is another line')
  now = 60_000
  assert.equal(c.admit('PROXY_ERR_UNEXPECTED_HEADER|tcp'), 29, 'the next window: how many were held back')
  now = 200_000
  assert.equal(c.admit('PROXY_ERR_UNEXPECTED_HEADER|tcp'), 0)
})

test('bounded: at most MAX_KEYS kinds remembered', () => {
  const c = new Collapser(60_000, () => 0)
  for (let i = 0; i < Collapser.MAX_KEYS + 10; i++) assert.equal(c.admit(`k${i}`), 0)
  assert.equal(c.admit('k0'), 0, 'the oldest was forgotten')
  assert.equal(c.admit(`k${Collapser.MAX_KEYS + 9}`), undefined, 'a recent one is still held back')
})

test('held-back lines are summed up when the window ends, if no line of the kind comes before', () => {
  let now = 0
  const timers: Array<{ fn: () => void, at: number }> = []
  const c = new Collapser(60_000, () => now, (fn, ms) => { timers.push({ fn, at: now + ms }) })
  const summaries: Array<[string, number]> = []
  const admit = (key: string): number | undefined => c.admit(key, held => { summaries.push([key, held]) })
  assert.equal(admit('a'), 0)
  now = 1000
  assert.equal(admit('a'), undefined)
  now = 2000
  assert.equal(admit('a'), undefined)
  assert.deepEqual(timers.map(x => x.at), [60_000], 'one timer, at the end of the window')
  now = 60_000
  timers[0]?.fn()
  assert.deepEqual(summaries, [['a', 2]], 'the refusals stopped: the summary says how many')
  now = 61_000
  assert.equal(admit('a'), 0, 'the next one is a first line again, its count already said')

  // When a line of the kind comes after the window but before the timer, it carries the count and the timer does nothing.
  now = 100_000
  assert.equal(admit('b'), 0)
  now = 101_000
  assert.equal(admit('b'), undefined)
  now = 160_001
  assert.equal(admit('b'), 1)
  timers[1]?.fn()
  assert.deepEqual(summaries, [['a', 2]])
})

// The ready-to-run broker's once-a-minute lines (connection errors, drops).
test('once a minute: the first line of a kind, then how many more there were when the minute ends', async () => {
  const said: string[] = []
  const logs = oncePerMinute({ warn: (_record, message) => { said.push(message ?? '') } }, 50)
  for (let i = 0; i < 4; i++) logs.say('k', () => [{}, 'first'], n => [{}, `${n} more`])
  logs.say('other', () => [{}, 'another kind'], n => [{}, `${n} more of the other`])
  await until(() => said.length === 3, 2000, 'the summary')
  assert.deepEqual(said, ['first', 'another kind', '3 more'])
})
