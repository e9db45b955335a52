// The code layout the architecture promises (DESIGN.md, "one way through"),
// kept true: small files, no import cycles, a test tree that mirrors src/.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

function files (dir: string, ext = '.ts'): string[] {
  const out: string[] = []
  for (const name of readdirSync(path.join(root, dir))) {
    const rel = path.join(dir, name)
    if (statSync(path.join(root, rel)).isDirectory()) out.push(...files(rel, ext))
    else if (name.endsWith(ext)) out.push(rel)
  }
  return out.sort()
}

/** Relative imports of a file, `import type` and re-exports included. */
function importsOf (file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8')
  const found: string[] = []
  const relative = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|(?:^|\n)\s*import\s+'(\.[^']+)'/g
  for (const m of text.matchAll(relative)) {
    const spec = (m[1] ?? m[2]) as string
    found.push(path.normalize(path.join(path.dirname(file), spec.replace(/\.js$/, '.ts'))))
  }
  return found
}

test('no file under src/ or packages/broker/src/ is over 600 lines', () => {
  for (const file of [...files('src'), ...files('packages/broker/src')]) {
    const lines = readFileSync(path.join(root, file), 'utf8').split('\n').length - 1
    assert.ok(lines <= 600, `${file} has ${lines} lines`)
  }
})

test('no import cycle under src/, type-only imports included', () => {
  const graph = new Map(files('src').map(f => [f, importsOf(f)]))
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (file: string, trail: string[]): void => {
    if (state.get(file) === 'done') return
    if (state.get(file) === 'visiting') {
      assert.fail(`import cycle: ${[...trail.slice(trail.indexOf(file)), file].join(' -> ')}`)
    }
    state.set(file, 'visiting')
    for (const dep of graph.get(file) ?? []) {
      assert.ok(graph.has(dep), `${file} imports ${dep}, which does not exist`)
      visit(dep, [...trail, file])
    }
    state.set(file, 'done')
  }
  for (const file of graph.keys()) visit(file, [])
})

test('protocol/ is pure: it imports only itself, and knows no sockets or timers', () => {
  for (const file of files('src/protocol')) {
    for (const dep of importsOf(file)) assert.ok(dep.startsWith('src/protocol/'), `${file} imports ${dep}`)
    assert.doesNotMatch(readFileSync(path.join(root, file), 'utf8'), /from 'node:(net|tls|http|https|stream|timers)'/,
      `${file} knows sockets or timers`)
  }
})

test('test/ mirrors src/ (and packages/broker/test/ its src/): ' +
  'every test outside integration/, system/ and helpers/ is named after a source file', () => {
  for (const file of [...files('test'), ...files('packages/broker/test')]) {
    if (/^(test|packages\/broker\/test)\/(integration|system|helpers)\//.test(file)) continue
    const source = file.replace(/^test\//, 'src/').replace(/^packages\/broker\/test\//, 'packages/broker/src/')
      .replace(/\.test\.ts$/, '.ts')
    const isFile = statSync(path.join(root, source), { throwIfNoEntry: false })?.isFile() === true
    assert.ok(isFile, `${file} has no ${source}`)
  }
})

test('the library does not import the ready-to-run broker, ' +
  'and the broker uses the library only through its public entry', () => {
  for (const file of files('src')) {
    for (const dep of importsOf(file)) assert.ok(!dep.startsWith('packages/'), `${file} imports ${dep}`)
    assert.doesNotMatch(readFileSync(path.join(root, file), 'utf8'), /from '(pino|ws)'/,
      `${file} imports the broker's dependencies`)
  }
  for (const file of files('packages/broker/src')) {
    for (const dep of importsOf(file)) assert.ok(dep.startsWith('packages/broker/src/'), `${file} reaches into ${dep}`)
  }
})

test('nothing under scripts/ or bench/ imports test/', () => {
  for (const file of [...files('scripts'), ...files('bench')]) {
    for (const dep of importsOf(file)) assert.ok(!dep.startsWith('test/'), `${file} imports ${dep}`)
  }
})

test('the fast tier starts no program: only tests under system/ spawn processes or use the helpers that do', () => {
  const helpers = 'programs|npm-start|redis|redis-clients|bin-cluster|spawn'
  const spawning = new RegExp(`from '(node:child_process|[./]+helpers/(${helpers})\\.js)'`)
  for (const file of [...files('test'), ...files('packages/broker/test')]) {
    // trust.test.ts runs node itself in a child, to hold this event loop while a client connects.
    if (!file.endsWith('.test.ts') || /\/system\//.test(file) || file === 'test/integration/trust.test.ts') continue
    assert.doesNotMatch(readFileSync(path.join(root, file), 'utf8'), spawning,
      `${file} starts programs: it belongs under system/`)
  }
})
