// Checks the npm package as it is published: what `npm pack` ships, publint,
// @arethetypeswrong/cli, and a fresh project that installs the packed
// tarball, compiles the examples and a type test against it, runs it, and
// runs the installed bin. test/package.test.ts runs the same steps one by one.
//
//   npm run build && node --import tsx scripts/pack-check.ts             # everything
//   npm run build && node --import tsx scripts/pack-check.ts --no-install # no registry install
//   ... --keep                                                           # keep the temp dirs
//
// `npm pack` runs with --ignore-scripts: it packs the dist/ that is there,
// so build first (`npm test` does).
import { spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'

export const root = fileURLToPath(new URL('..', import.meta.url))

// ---------------------------------------------------------------------------
// Processes

export interface RunResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly timedOut: boolean
}

export interface RunOptions {
  readonly cwd: string
  readonly timeoutMs: number
  readonly env?: NodeJS.ProcessEnv
}

/** Runs a program without a shell; never rejects, kills it on timeout. */
export async function run (command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return await new Promise(resolve => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, options.timeoutMs)
    child.on('error', err => { clearTimeout(timer); resolve({ code: null, signal: null, stdout, stderr: `${stderr}${String(err)}`, timedOut }) })
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, timedOut }) })
  })
}

/** A one-paragraph account of a finished process, for assertion messages. */
export function describeRun (what: string, r: RunResult): string {
  const status = r.timedOut ? 'timed out' : r.signal !== null ? `killed by ${r.signal}` : `exit ${String(r.code)}`
  const tail = (s: string): string => s.length > 6000 ? `…${s.slice(-6000)}` : s
  return `${what}: ${status}\n--- stdout ---\n${tail(r.stdout)}\n--- stderr ---\n${tail(r.stderr)}`
}

/**
 * The environment for child npm/node processes. Under `npm test` npm exports
 * npm_config_local_prefix, npm_package_* and friends; a nested `npm install`
 * in the scratch project must not inherit the repo's project settings.
 * Registry, cache and TLS settings (npm_config_registry, _cache, _cafile,
 * proxies) are kept.
 */
export function cleanEnv (): NodeJS.ProcessEnv {
  const drop = /^npm_(package_|lifecycle_|config_(local_prefix|global|dry_run|json|workspaces?|include_workspace_root|ignore_scripts|save(_.*)?|package_lock(_only)?|omit|include|production|only|also|prefix|global_prefix|git_tag_version|loglevel)$)/i
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!drop.test(k)) env[k] = v
  env.NO_COLOR = '1'
  env.FORCE_COLOR = '0'
  return env
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

// ---------------------------------------------------------------------------
// The manifest and the tarball's file list

export interface Manifest {
  readonly name: string
  readonly version: string
  readonly type?: string
  readonly main?: string
  readonly types?: string
  readonly typings?: string
  readonly exports?: unknown
  readonly bin?: string | Record<string, string>
  readonly files?: string[]
  readonly engines?: Record<string, string>
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly optionalDependencies?: Record<string, string>
}

export function readManifest (dir = root): Manifest {
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest
}

/** `./dist/x.js` and `dist/x.js` → `dist/x.js`. */
export function normalizeTarget (p: string): string {
  return path.posix.normalize(p.replace(/\\/g, '/')).replace(/^\.\//, '')
}

/** Every file that `exports`, `main`, `types`/`typings` and `bin` point to. */
export function entryTargets (manifest: Manifest): Array<{ field: string, file: string }> {
  const out: Array<{ field: string, file: string }> = []
  const walk = (value: unknown, where: string): void => {
    if (typeof value === 'string') {
      if (value.includes('*')) throw new Error(`${where}: subpath patterns are not checked by pack-check; list files instead`)
      out.push({ field: where, file: normalizeTarget(value) })
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${where}[${i}]`))
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, `${where}["${k}"]`)
    }
  }
  if (manifest.main !== undefined) walk(manifest.main, 'main')
  if (manifest.types !== undefined) walk(manifest.types, 'types')
  if (manifest.typings !== undefined) walk(manifest.typings, 'typings')
  if (manifest.exports !== undefined) walk(manifest.exports, 'exports')
  if (typeof manifest.bin === 'string') walk(manifest.bin, 'bin')
  else if (manifest.bin !== undefined) walk(manifest.bin, 'bin')
  return out
}

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
  const r = await run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], { cwd: dir, timeoutMs: 60_000 })
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

export const REQUIRED_FILES = ['dist/index.js', 'dist/index.d.ts', 'dist/bin/broker.js', 'README.md', 'LICENSE', 'package.json']

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
      if (m !== null && !existsSync(path.join(srcDir, `${m[1] ?? ''}.ts`))) problems.push(`stale build output: ${f} has no src/${m[1] ?? ''}.ts (clean dist/ before building)`)
    }
    for (const src of listFiles(srcDir)) {
      if (!src.endsWith('.ts') || src.endsWith('.d.ts')) continue
      const base = src.slice(0, -3)
      for (const out of [`dist/${base}.js`, `dist/${base}.d.ts`]) if (!shipped.has(out)) problems.push(`not built or not shipped: ${out} (from src/${src})`)
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

/** The package name of a bare specifier: `@a/b/c` → `@a/b`, `x/y` → `x`. */
export function packageOf (specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0] ?? specifier
}

/** Module specifiers in JS or declaration text: static, side-effect, dynamic imports and re-exports. */
export function specifiersIn (text: string): string[] {
  const out: string[] = []
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g
  ]
  for (const re of patterns) for (const m of text.matchAll(re)) if (m[1] !== undefined) out.push(m[1])
  return out
}

/** Where TypeScript looks for the declarations of a relative import. */
function declarationCandidates (target: string): string[] {
  const m = /^(.*)\.(m|c)?js$/.exec(target)
  if (m !== null) return [`${m[1] ?? ''}.d.${m[2] ?? ''}ts`]
  if (target.endsWith('.d.ts')) return [target]
  return [`${target}.d.ts`, `${target}/index.d.ts`]
}

/**
 * Problems inside the shipped files (read from `dir`, which holds the same
 * files the tarball does: the repo root, or the installed package):
 * - every `sourceMappingURL` points to a shipped map, and every shipped map's
 *   sources are shipped or inlined (`sourcesContent`);
 * - relative imports of shipped .js/.d.ts resolve to shipped files;
 * - bare imports are node builtins, the package itself, or listed in
 *   dependencies / peerDependencies (not only in devDependencies);
 * - every bin starts with a node shebang.
 */
export function checkShippedContents (files: readonly string[], manifest: Manifest, dir = root): string[] {
  const problems: string[] = []
  const shipped = new Set(files)
  const declared = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
    ...Object.keys(manifest.optionalDependencies ?? {}),
    manifest.name
  ])
  const danglingMaps: string[] = []
  const unmappedSources: string[] = []
  for (const f of files) {
    const isJs = f.endsWith('.js')
    const isDts = f.endsWith('.d.ts')
    const isMap = f.endsWith('.map')
    if (!isJs && !isDts && !isMap) continue
    const text = readFileSync(path.join(dir, f), 'utf8')
    const here = path.posix.dirname(f)
    if (isJs || isDts) {
      for (const m of text.matchAll(/^\/\/# sourceMappingURL=(\S+)\s*$/gm)) {
        const url = m[1] ?? ''
        if (url.startsWith('data:')) continue
        const target = path.posix.join(here, url)
        if (!shipped.has(target)) danglingMaps.push(`${f} -> ${target}`)
      }
      for (const spec of new Set(specifiersIn(text))) {
        if (spec.startsWith('.')) {
          const target = path.posix.join(here, spec)
          // a declaration's import resolves to declarations, never to the .js
          const candidates = isDts ? declarationCandidates(target) : [target]
          if (!candidates.some(c => shipped.has(c))) problems.push(`${f} imports ${spec}, but ${candidates.join(' / ')} is not in the tarball`)
        } else if (!isBuiltin(spec) && !declared.has(packageOf(spec))) {
          problems.push(`${f} imports ${spec}, but ${packageOf(spec)} is not in dependencies or peerDependencies`)
        }
      }
    } else {
      let map: { sources?: string[], sourcesContent?: Array<string | null>, sourceRoot?: string }
      try { map = JSON.parse(text) as typeof map } catch { problems.push(`${f} is not JSON`); continue }
      const sources = map.sources ?? []
      sources.forEach((s, i) => {
        const inlined = typeof map.sourcesContent?.[i] === 'string'
        const target = path.posix.join(here, map.sourceRoot ?? '', s)
        if (!inlined && !shipped.has(target)) unmappedSources.push(`${f} -> ${target}`)
      })
    }
  }
  if (danglingMaps.length > 0) {
    problems.push(`${danglingMaps.length} shipped file(s) end with a sourceMappingURL comment whose map is not in the tarball ` +
      `(build without sourceMap, or ship the maps with inlineSources): ${danglingMaps.slice(0, 3).join(', ')}${danglingMaps.length > 3 ? ', …' : ''}`)
  }
  if (unmappedSources.length > 0) {
    problems.push(`${unmappedSources.length} source(s) in shipped maps are neither shipped nor inlined in sourcesContent ` +
      `(build with inlineSources, or do not ship maps): ${unmappedSources.slice(0, 3).join(', ')}${unmappedSources.length > 3 ? ', …' : ''}`)
  }
  const bins = typeof manifest.bin === 'string' ? { [manifest.name]: manifest.bin } : manifest.bin ?? {}
  for (const [name, file] of Object.entries(bins)) {
    const target = normalizeTarget(file)
    if (!shipped.has(target)) continue // reported by checkFileList
    const first = readFileSync(path.join(dir, target), 'utf8').split('\n', 1)[0] ?? ''
    if (!/^#!\/usr\/bin\/env node\b/.test(first)) problems.push(`bin ${name} (${target}) does not start with "#!/usr/bin/env node"`)
  }
  return problems
}

// ---------------------------------------------------------------------------
// publint and @arethetypeswrong/cli

/** publint on the tarball, strict (warnings are errors) and with suggestions: every message. */
export async function runPublint (tarball: string): Promise<string[]> {
  const buf = readFileSync(tarball)
  const data = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer
  const { messages, pkg } = await publint({ pack: { tarball: data }, strict: true, level: 'suggestion' })
  return messages.map(m => `publint ${m.type} ${m.code}: ${formatMessage(m, pkg, { color: false }) ?? m.code}`)
}

/**
 * The resolution modes that do not apply to an ESM-only package for Node >= 20:
 * `node10` (TypeScript's legacy `moduleResolution: node`, which ignores
 * `exports`; it still resolves here through `types`) and `node16-cjs`
 * (`require()` from CommonJS, which an ESM-only package does not offer on
 * Node < 20.19; `await import()` works). This is attw's `esm-only` profile.
 */
export const ATTW_IGNORED_RESOLUTIONS = new Set(['node10', 'node16-cjs'])

interface AttwProblem { readonly kind: string, readonly entrypoint?: string, readonly resolutionKind?: string }

/** @arethetypeswrong/cli on the tarball with the esm-only profile: problems left. */
export async function runAttw (tarball: string, dir = root): Promise<{ problems: string[], result: RunResult }> {
  const bin = path.join(dir, 'node_modules', '.bin', process.platform === 'win32' ? 'attw.cmd' : 'attw')
  const result = await run(bin, [tarball, '--profile', 'esm-only', '--format', 'json', '--no-definitely-typed'], { cwd: dir, timeoutMs: 60_000 })
  const problems: string[] = []
  let parsed: { problems?: Record<string, AttwProblem[]> | AttwProblem[] } | undefined
  try { parsed = JSON.parse(result.stdout) as typeof parsed } catch { problems.push(describeRun('attw printed no JSON', result)) }
  const list = parsed?.problems === undefined ? [] : Array.isArray(parsed.problems) ? parsed.problems : Object.values(parsed.problems).flat()
  for (const p of list) {
    if (p.resolutionKind !== undefined && ATTW_IGNORED_RESOLUTIONS.has(p.resolutionKind)) continue
    problems.push(`attw ${p.kind} at ${p.entrypoint ?? '?'} (${p.resolutionKind ?? 'any resolution'})`)
  }
  if (result.code !== 0 && problems.length === 0) problems.push(describeRun('attw --profile esm-only', result))
  return { problems, result }
}

// ---------------------------------------------------------------------------
// A fresh project that installs the tarball

export const EXAMPLES = ['tcp.ts', 'tls.ts', 'ws.ts', 'wss.ts']

/**
 * What a user writes: the augmentation, the plugin's types, header narrowing,
 * option typos. Compiled, not run.
 */
export const TYPE_TEST = `// Written by scripts/pack-check.ts: compiled against the installed tarball.
import net from 'node:net'
import { Aedes, type Client } from 'aedes'
import {
  proxyProtocol, withPlugins, parseHeader, ProxyProtocol, ProxyProtocolError, PROXY_ERROR_CODES,
  type ConnDetails, type ProxyHeader, type ProxyProtocolOptions, type ListenerName
} from 'aedes-proxy-protocol'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function expectType<T extends true> (): T | undefined { return undefined }

// The module augmentation ships: client.connDetails is typed, optional.
export function realIp (client: Client): string | undefined {
  return client.connDetails?.ipAddress
}
declare const client: Client
expectType<Equal<typeof client.connDetails, ConnDetails | null | undefined>>()
// @ts-expect-error ipAddress is a string, not a number
export const wrong: number | undefined = client.connDetails?.ipAddress

// ProxyHeader narrows on \`proxied\`.
export function describeHeader (header: ProxyHeader): string {
  if (header.proxied) {
    const port: number = header.source.port
    return \`\${header.source.address}:\${port} -> \${header.destination.address}\`
  }
  // @ts-expect-error a header that is not proxied has no source address
  void header.source.port
  return header.command
}
export function firstHeader (bytes: Uint8Array): ProxyHeader | undefined {
  const r = parseHeader(Buffer.from(bytes))
  return r.status === 'complete' ? r.header : undefined
}

// broker.use(proxyProtocol(...)) returns the typed plugin.
export async function start (port: number): Promise<net.Server> {
  const broker = withPlugins(await Aedes.createBroker({
    authenticate (c, _user, _pass, done) {
      const d = c.connDetails
      const listener: ListenerName | undefined = d?.listener
      void listener
      done(null, d?.ipAddress !== undefined)
    }
  }))
  const options: ProxyProtocolOptions = { proxyEnabled: true, listeners: { ws: { proxyEnabled: false } } }
  const proxy = broker.use(proxyProtocol(options))
  expectType<Equal<typeof proxy, ProxyProtocol>>()
  proxy.on('rejected', (err, event) => {
    expectType<Equal<typeof err, ProxyProtocolError>>()
    const probe: boolean = event.probe
    void probe
  })
  const codes: readonly string[] = PROXY_ERROR_CODES
  void codes
  // @ts-expect-error proxyEnabled is not a string
  proxyProtocol({ proxyEnabled: 'yes' })
  // @ts-expect-error there is no listener called mqtts
  proxyProtocol({ listeners: { mqtts: {} } })
  // @ts-expect-error there is no such event
  proxy.on('nonsense', () => {})
  return net.createServer(broker.handle).listen(port, '127.0.0.1')
}
`

/**
 * Runs in the scratch project with plain node: imports the installed package,
 * serves a broker with the plugin on 127.0.0.1:0, sends a PROXY v1 header and
 * an MQTT CONNECT over loopback, and prints what the broker saw as JSON.
 * The header's address (TEST-NET-3) is data only: nothing is sent to it.
 */
export const SMOKE = `// Written by scripts/pack-check.ts: runs against the installed tarball.
import net from 'node:net'
import { createRequire } from 'node:module'
import { Aedes } from 'aedes'
import * as pkg from 'aedes-proxy-protocol'
const { proxyProtocol, withPlugins, parseHeader } = pkg

const out = { proxyProtocol: typeof proxyProtocol, withPlugins: typeof withPlugins, parseHeader: typeof parseHeader }
const require = createRequire(import.meta.url)
out.packageJson = require('aedes-proxy-protocol/package.json').name
try { await import('aedes-proxy-protocol/dist/plugin.js'); out.deepImport = 'allowed' } catch (err) { out.deepImport = err.code }

const seen = []
const broker = withPlugins(await Aedes.createBroker({
  authenticate (client, _u, _p, done) { seen.push(client.connDetails?.ipAddress); done(null, true) }
}))
broker.use(proxyProtocol({ proxyEnabled: true }))
const server = net.createServer(broker.handle)
await new Promise((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve) })
out.port = server.address().port

const clientId = Buffer.from('pack-check')
const body = Buffer.concat([
  Buffer.from([0x00, 0x04]), Buffer.from('MQTT'), Buffer.from([0x04, 0x02, 0x00, 0x3c]),
  Buffer.from([0x00, clientId.length]), clientId
])
const connect = Buffer.concat([Buffer.from([0x10, body.length]), body])
const header = Buffer.from('PROXY TCP4 203.0.113.7 127.0.0.1 40001 ' + out.port + '\\r\\n')
out.connack = await new Promise((resolve, reject) => {
  const socket = net.connect(out.port, '127.0.0.1', () => socket.write(Buffer.concat([header, connect])))
  const timer = setTimeout(() => { socket.destroy(); reject(new Error('no CONNACK within 5 s')) }, 5000)
  socket.once('data', d => { clearTimeout(timer); socket.end(); resolve([...d.subarray(0, 4)]) })
  socket.once('error', err => { clearTimeout(timer); reject(err) })
})
out.ipAddress = seen[0]
await new Promise(resolve => server.close(() => resolve()))
await new Promise(resolve => broker.close(() => resolve()))
console.log(JSON.stringify(out))
`

const TSCONFIG_BASE = {
  target: 'ES2022',
  lib: ['ES2022'],
  types: ['node'],
  strict: true,
  noEmit: true,
  skipLibCheck: false
}

/** The compiler settings a user may have; all must accept the package. */
export const TSCONFIGS: Record<string, object> = {
  // strict NodeNext, and the package's own .d.ts checked too (skipLibCheck off)
  'tsconfig.json': { compilerOptions: { ...TSCONFIG_BASE, module: 'NodeNext', moduleResolution: 'NodeNext' } },
  // the strictest flags the repo itself uses
  'tsconfig.strictest.json': {
    compilerOptions: {
      ...TSCONFIG_BASE,
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      noImplicitOverride: true,
      verbatimModuleSyntax: true,
      isolatedModules: true
    }
  },
  // bundler-style resolution (tsx, esbuild, Vite users)
  'tsconfig.bundler.json': { compilerOptions: { ...TSCONFIG_BASE, module: 'Preserve', moduleResolution: 'Bundler' } }
}

export const SCRATCH_DEPENDENCIES = ['aedes@^1', 'typescript@~5.9', '@types/node@^20', 'ws@^8', '@types/ws@^8']

/**
 * Writes the scratch project (package.json, tsconfigs, the repo's examples,
 * the type test, the smoke script) and installs the tarball into it from the
 * npm registry. Throws with npm's output when the install fails.
 */
export async function createScratch (dir: string, tarball: string, repo = root): Promise<void> {
  mkdirSync(path.join(dir, 'examples'), { recursive: true })
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ name: 'pack-check-scratch', private: true, type: 'module' }, null, 2)}\n`)
  const include = ['examples/*.ts', 'usage.ts']
  for (const [file, config] of Object.entries(TSCONFIGS)) {
    writeFileSync(path.join(dir, file), `${JSON.stringify({ ...config, include }, null, 2)}\n`)
  }
  for (const example of EXAMPLES) copyFileSync(path.join(repo, 'examples', example), path.join(dir, 'examples', example))
  writeFileSync(path.join(dir, 'usage.ts'), TYPE_TEST)
  writeFileSync(path.join(dir, 'smoke.js'), SMOKE)
  const r = await run(npm, ['install', '--no-audit', '--no-fund', '--no-update-notifier', '--loglevel=error', tarball, ...SCRATCH_DEPENDENCIES], { cwd: dir, timeoutMs: 150_000 })
  if (r.code !== 0) throw new Error(describeRun('npm install in the scratch project', r))
  if (!existsSync(path.join(dir, 'node_modules', 'aedes-proxy-protocol', 'package.json'))) throw new Error(`the tarball was not installed into ${dir}/node_modules`)
}

/** `tsc -p <config>` in the scratch project, for each config; the failures. */
export async function typecheckScratch (dir: string): Promise<string[]> {
  const tsc = path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc')
  const results = await Promise.all(Object.keys(TSCONFIGS).map(async config => {
    const r = await run(process.execPath, [tsc, '-p', config, '--pretty', 'false'], { cwd: dir, timeoutMs: 90_000 })
    return r.code === 0 ? undefined : describeRun(`tsc -p ${config}`, r)
  }))
  return results.filter((r): r is string => r !== undefined)
}

export interface SmokeResult {
  readonly proxyProtocol: string
  readonly withPlugins: string
  readonly parseHeader: string
  readonly packageJson: string
  readonly deepImport: string
  readonly port: number
  readonly connack: number[]
  readonly ipAddress: string | undefined
}

export async function smokeScratch (dir: string): Promise<{ result: RunResult, smoke: SmokeResult | undefined }> {
  const result = await run(process.execPath, ['smoke.js'], { cwd: dir, timeoutMs: 20_000 })
  const line = result.stdout.trim().split('\n').pop() ?? ''
  let smoke: SmokeResult | undefined
  try { smoke = JSON.parse(line) as SmokeResult } catch { smoke = undefined }
  return { result, smoke }
}

/** The installed bin, run as a user would (through its shebang). */
export async function binHelp (dir: string, name = 'aedes-proxy-protocol'): Promise<RunResult> {
  const bin = path.join(dir, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name)
  return await run(bin, ['--help'], { cwd: dir, timeoutMs: 15_000 })
}

// ---------------------------------------------------------------------------
// Command line

export function makeTempDir (label: string): string {
  return mkdtempSync(path.join(tmpdir(), `aedes-pp-${label}-`))
}

export function removeDir (dir: string | undefined): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
}

async function main (argv: string[]): Promise<number> {
  const install = !argv.includes('--no-install')
  const keep = argv.includes('--keep')
  const packDir = makeTempDir('pack')
  const scratch = install ? makeTempDir('scratch') : undefined
  const problems: string[] = []
  const step = (name: string, found: string[]): void => {
    console.log(`${found.length === 0 ? 'ok  ' : 'FAIL'} ${name}`)
    for (const p of found) console.log(`     ${p.replace(/\n/g, '\n     ')}`)
    problems.push(...found)
  }
  try {
    const manifest = readManifest()
    const packed = await pack(packDir)
    console.log(`packed ${packed.entry.filename}: ${packed.files.length} files, ${packed.entry.size} bytes (${packed.entry.unpackedSize} unpacked)`)
    step('file list', checkFileList(packed.files, manifest))
    step('shipped contents', checkShippedContents(packed.files, manifest))
    step('publint --strict', await runPublint(packed.tarball))
    step('attw --profile esm-only', (await runAttw(packed.tarball)).problems)
    if (scratch !== undefined) {
      await createScratch(scratch, packed.tarball)
      step('installed package contents', checkShippedContents(packed.files, manifest, path.join(scratch, 'node_modules', manifest.name)))
      step('examples and type test compile (tsc)', await typecheckScratch(scratch))
      const { result, smoke } = await smokeScratch(scratch)
      step('runtime smoke', result.code === 0 && smoke?.proxyProtocol === 'function' && smoke.ipAddress === '203.0.113.7' ? [] : [describeRun('node smoke.js', result)])
      const help = await binHelp(scratch)
      step('bin --help', help.code === 0 && help.stdout.includes('MQTT_PROXY_PROTOCOL_ENABLED') ? [] : [describeRun('aedes-proxy-protocol --help', help)])
    }
  } catch (err) {
    problems.push(String(err instanceof Error ? err.message : err))
    console.log(`FAIL ${String(err instanceof Error ? err.message : err)}`)
  } finally {
    if (keep) console.log(`kept ${packDir}${scratch !== undefined ? ` and ${scratch}` : ''}`)
    else { removeDir(packDir); removeDir(scratch) }
  }
  console.log(problems.length === 0 ? 'package check passed' : `package check failed: ${problems.length} problem(s)`)
  return problems.length === 0 ? 0 : 1
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2))
}
