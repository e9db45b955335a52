import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Collapser } from '../src/log-collapse.js'

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
