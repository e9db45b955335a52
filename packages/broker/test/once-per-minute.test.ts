// The broker's once-a-minute lines.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { until } from '../../../test/helpers/wait.js'
import { OncePerMinute } from '../src/once-per-minute.js'

test('once a minute: the first line of a kind, then how many more there were when the minute ends', async () => {
  const said: string[] = []
  const logs = new OncePerMinute({ warn: (_record, message) => { said.push(message) } }, 50)
  for (let i = 0; i < 4; i++) logs.say('k', () => [{}, 'first'], n => [{}, `${n} more`])
  logs.say('other', () => [{}, 'another kind'], n => [{}, `${n} more of the other`])
  await until(() => said.length === 3, 2000, 'the summary')
  assert.deepEqual(said, ['first', 'another kind', '3 more'])
})
