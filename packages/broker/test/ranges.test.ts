// Every numeric variable has a range the code can honour (issue 22): a table
// over ranges.ts, which readNumber reads, so a variable cannot skip it. min and
// max start, min - 1 and max + 1 are refused in one line naming the variable,
// and the plugins take every value in range.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ipPolicy, OptionsError, proxyProtocol, sessions } from 'aedes-proxy-protocol'
import { operatorOptionsFromEnv, optionsFromEnv, readNumber } from '../src/env.js'
import { RANGES } from '../src/ranges.js'
import { VARIABLES } from '../src/variables.js'

test('every variable with a number for default, or that counts milliseconds, ports or attempts, has a range; every range is a variable', () => {
  const names = new Set(VARIABLES.map(v => v.name))
  for (const name of Object.keys(RANGES)) assert.ok(names.has(name), `${name} is a variable`)
  for (const v of VARIABLES) {
    if (/^\d+$/.test(v.default) || /\bms\b|millisecond|\bport (to|of)\b|per second|attempts|connections per/.test(v.help)) {
      assert.ok(RANGES[v.name] !== undefined, `${v.name} has a range`)
    }
  }
})

for (const [name, range] of Object.entries(RANGES)) {
  test(`${name}: ${range.min} and ${range.max} read; ${range.min - 1} and ${range.max + 1} refused in one line naming it`, () => {
    assert.equal(readNumber({ [name]: String(range.min) }, name), range.min)
    assert.equal(readNumber({ [name]: String(range.max) }, name), range.max)
    for (const bad of [range.min - 1, range.max + 1, ...(range.integer ? [range.min + 0.5] : []), 'x', '0x10', 'Infinity']) {
      assert.throws(() => readNumber({ [name]: String(bad) }, name), (err: unknown) => {
        assert.ok(err instanceof OptionsError)
        assert.equal(err.issues[0]?.path, name)
        assert.match(err.message, new RegExp(`^aedes-proxy-protocol: ${name}="${String(bad).replace('.', '\\.')}" is not a (whole )?number from ${String(range.min).replace('.', '\\.')} to ${range.max} \\(.+\\)$`))
        return true
      }, `${name}=${bad}`)
    }
  })
}

test('the plugins take each variable\'s min and max: no value in range is refused later', () => {
  for (const end of ['min', 'max'] as const) {
    const env = Object.fromEntries(Object.entries(RANGES).map(([name, r]) => [name, String(r[end])]))
    proxyProtocol(optionsFromEnv(env))
    const operator = operatorOptionsFromEnv(env)
    assert.ok(operator.ipPolicy !== undefined)
    ipPolicy(operator.ipPolicy)
    sessions({ sysInterval: operator.sysInterval })
  }
})
