// The broker's one variable table (docs/broker.md, "Variables") is the list
// the code reads (variables.ts), both ways: every variable the broker reads
// has a row, and every row names only variables it reads. No other document
// has a variable table of its own.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { VARIABLES } from '../src/variables.js'

const root = fileURLToPath(new URL('../../..', import.meta.url))

/** `A_{B,C}_D` as `A_B_D` and `A_C_D`; every group expanded. */
function expand (name: string): string[] {
  const m = /\{([^{}]+)\}/.exec(name)
  if (m === null) return [name]
  const [before, after] = [name.slice(0, m.index), name.slice(m.index + m[0].length)]
  return (m[1] as string).split(',').flatMap(choice => expand(before + choice + after))
}

/** The rows of the Markdown tables whose header starts with `| variable |`, outside fenced blocks. */
function variableTables (markdown: string): string[][] {
  const tables: string[][] = []
  const lines = markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '').split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (!/^\| variable \|/.test(lines[i] as string)) continue
    const rows: string[] = []
    for (i += 2; i < lines.length && (lines[i] as string).startsWith('|'); i++) rows.push(lines[i] as string)
    tables.push(rows)
  }
  return tables
}

/** The variables a row's first cell names, expanded. */
function rowVariables (row: string): string[] {
  const cell = row.split(' | ')[0]?.replace(/^\| /, '') ?? ''
  return [...cell.matchAll(/`([A-Z][A-Z0-9_{},]*)`/g)].flatMap(m => expand(m[1] as string))
}

function documented (): string[] {
  const tables = variableTables(readFileSync(join(root, 'docs', 'broker.md'), 'utf8'))
  assert.equal(tables.length, 1, 'docs/broker.md has one variable table')
  return (tables[0] as string[]).flatMap(rowVariables)
}

test('every variable the broker reads is in docs/broker.md\'s table', () => {
  const inTable = new Set(documented())
  const missing = VARIABLES.map(v => v.name).filter(name => !inTable.has(name))
  assert.deepEqual(missing, [])
})

test('every variable in docs/broker.md\'s table is read by the broker, and named once', () => {
  const read = new Set(VARIABLES.map(v => v.name))
  const names = documented()
  assert.deepEqual(names.filter(name => !read.has(name)), [])
  assert.deepEqual(names.filter((name, i) => names.indexOf(name) !== i), [], 'no variable in two rows')
})

test('no other document has a variable table: the README and the other docs link to docs/broker.md', () => {
  const others = ['README.md', ...readdirSync(join(root, 'docs')).filter(f => f.endsWith('.md') && f !== 'broker.md')
    .map(f => `docs/${f}`)]
  for (const doc of others) assert.deepEqual(variableTables(readFileSync(join(root, doc), 'utf8')), [], doc)
})

test('a row\'s names expand as the table says', () => {
  assert.deepEqual(rowVariables('| `LISTENER_SSL_{PEM_CERT,PEM_KEY}` / `MQTT_{TCP,WS}_X_{A,B}` | x |'),
    ['LISTENER_SSL_PEM_CERT', 'LISTENER_SSL_PEM_KEY', 'MQTT_TCP_X_A', 'MQTT_TCP_X_B', 'MQTT_WS_X_A', 'MQTT_WS_X_B'])
})
