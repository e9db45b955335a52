// Step 1: `npm pack`, and the list of files it ships: nothing missing,
// nothing forbidden or unexpected, dist/ one to one with src/.
import { existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { entryTargets, type Manifest } from './manifest.js'
import { root } from './paths.js'
import { describeRun, npm, run } from './run.js'

export interface NpmPackEntry {
  readonly id: string
  readonly name: string
  readonly version: string
  readonly filename: string
  readonly size: number
  readonly unpackedSize: number
  readonly entryCount: number
  readonly files: Array<{ path: string, size: number, mode: number }>
}

export interface Packed {
  readonly tarball: string
  readonly files: string[]
  readonly entry: NpmPackEntry
}

/**
 * `npm pack --json --ignore-scripts` into `dest`. Scripts are skipped so the
 * check packs the dist/ that was built, not a rebuild (the `prepare` script
 * would otherwise run tsc again).
 */
export async function pack (dest: string, dir = root): Promise<Packed> {
  if (!existsSync(path.join(dir, 'dist', 'index.js'))) throw new Error('dist/ is not built: run `npm run build` first')
  const r = await run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', dest],
    { cwd: dir, timeoutMs: 60_000 })
  if (r.code !== 0) throw new Error(describeRun('npm pack', r))
  const entries = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as NpmPackEntry[]
  const entry = entries[0]
  if (entry === undefined) throw new Error(describeRun('npm pack printed no entry', r))
  const tarball = path.join(dest, entry.filename)
  if (!existsSync(tarball)) throw new Error(`npm pack did not write ${tarball}`)
  return { tarball, files: entry.files.map(f => f.path).sort(), entry }
}

/** What the package may contain: built JS and declarations, docs, manifest. */
const ALLOWED = [
  /^dist\/.+\.js$/,
  /^dist\/.+\.d\.ts$/,
  /^dist\/.+\.(js|d\.ts)\.map$/, // only when correct: checkShippedContents
  /^README\.md$/,
  /^docs\/[^/]+\.md$/, // the reference the README links to
  /^LICENSE$/,
  /^CHANGELOG\.md$/,
  /^package\.json$/
]

const FORBIDDEN: Array<[RegExp, string]> = [
  [/^test\//, 'tests'],
  [/^src\//, 'TypeScript sources'],
  [/(^|\/)[^/]+(?<!\.d)\.ts$/, 'a .ts source file'],
  [/^bench\//, 'benchmarks'],
  [/^scripts\//, 'dev scripts'],
  [/^examples\//, 'examples (documented in the README and the repository)'],
  [/^\.ci\//, 'CI scripts'],
  [/(^|\/)node_modules\//, 'node_modules'],
  [/(^|\/)\.[^/]+/, 'a dotfile'],
  [/\.tgz$/, 'a tarball'],
  [/^tsconfig.*\.json$/, 'a tsconfig'],
  [/^coverage\//, 'coverage output']
]

export const REQUIRED_FILES = [
  'dist/index.js', 'dist/index.d.ts', 'README.md', 'docs/api.md', 'docs/load-balancers.md', 'docs/broker.md', 'LICENSE',
  'package.json'
]

/** Problems with the list of packed files: missing, forbidden, unexpected. */
export function checkFileList (files: readonly string[], manifest: Manifest, dir = root): string[] {
  const problems: string[] = []
  const shipped = new Set(files)
  for (const f of REQUIRED_FILES) if (!shipped.has(f)) problems.push(`missing from the tarball: ${f}`)
  for (const f of files) {
    const forbidden = FORBIDDEN.find(([re]) => re.test(f))
    if (forbidden !== undefined) problems.push(`shipped ${forbidden[1]}: ${f}`)
    else if (!ALLOWED.some(re => re.test(f))) problems.push(`unexpected file in the tarball: ${f}`)
  }
  for (const { field, file } of entryTargets(manifest)) {
    if (!shipped.has(file)) problems.push(`package.json ${field} points to ${file}, which is not in the tarball`)
  }
  // dist/ matches src/ one to one: no stale output of a deleted module, no
  // module that was added to src/ but not built.
  const srcDir = path.join(dir, 'src')
  if (existsSync(srcDir)) {
    for (const f of files) {
      const m = /^dist\/(.+)\.js$/.exec(f)
      if (m !== null && !existsSync(path.join(srcDir, `${m[1] ?? ''}.ts`))) {
        problems.push(`stale build output: ${f} has no src/${m[1] ?? ''}.ts (clean dist/ before building)`)
      }
    }
    for (const src of listFiles(srcDir)) {
      if (!src.endsWith('.ts') || src.endsWith('.d.ts')) continue
      const base = src.slice(0, -3)
      for (const out of [`dist/${base}.js`, `dist/${base}.d.ts`]) {
        if (!shipped.has(out)) problems.push(`not built or not shipped: ${out} (from src/${src})`)
      }
    }
  }
  return problems
}

function listFiles (dir: string, prefix = ''): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) out.push(...listFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`))
    else out.push(`${prefix}${entry.name}`)
  }
  return out
}
