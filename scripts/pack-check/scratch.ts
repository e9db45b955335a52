// Steps 4-7: a fresh project that installs the packed tarball (its
// dependencies from the npm registry), compiles the repo's examples and a
// type test against it, runs a smoke test with plain node, and lists what
// the library brings at run time (no logger). The project's files are real files in ./scratch/:
// project/ (package.json, the tsconfigs) is copied as it is, usage.ts is
// copied, smoke.ts is copied with its types stripped (as smoke.js).
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { root } from './paths.js'
import { describeRun, npm, run, type RunResult } from './run.js'
import type { SmokeResult } from './scratch/smoke-result.js'
import { installedAedes, type AedesVersion } from './aedes-versions.js'

export type { SmokeResult } from './scratch/smoke-result.js'

/** The sources of the scratch project. */
export const SCRATCH_SOURCES = fileURLToPath(new URL('./scratch/', import.meta.url))
const PROJECT = path.join(SCRATCH_SOURCES, 'project')

export const EXAMPLES = ['tcp.ts', 'tls.ts', 'ws.ts', 'wss.ts']

/** The compiler settings a user may have (project/tsconfig*.json); all must accept the package. */
export const SCRATCH_TSCONFIGS: readonly string[] =
  readdirSync(PROJECT).filter(f => /^tsconfig(\..+)?\.json$/.test(f)).sort()

const TOOLING = ['typescript@~5.9', '@types/node@^20']
export const SCRATCH_DEPENDENCIES = ['aedes@^1', ...TOOLING, 'ws@^8', '@types/ws@^8']

/** TypeScript source → JavaScript for plain node: types removed, imports kept as written. */
function stripTypes (file: string): string {
  const out = ts.transpileModule(readFileSync(file, 'utf8'), {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true }
  })
  const errors = (out.diagnostics ?? []).map(d => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
  if (errors.length > 0) throw new Error(`${file}: ${errors.join('; ')}`)
  return out.outputText
}

/**
 * Writes the scratch project (package.json, tsconfigs, the repo's examples,
 * the type test, the smoke script) and installs the tarball into it from the
 * npm registry. Throws with npm's output when the install fails.
 */
export async function createScratch (dir: string, tarball: string, repo = root): Promise<void> {
  mkdirSync(path.join(dir, 'examples'), { recursive: true })
  for (const file of readdirSync(PROJECT)) copyFileSync(path.join(PROJECT, file), path.join(dir, file))
  for (const example of EXAMPLES) {
    copyFileSync(path.join(repo, 'examples', example), path.join(dir, 'examples', example))
  }
  copyFileSync(path.join(SCRATCH_SOURCES, 'usage.ts'), path.join(dir, 'usage.ts'))
  writeFileSync(path.join(dir, 'smoke.js'), stripTypes(path.join(SCRATCH_SOURCES, 'smoke.ts')))
  const r = await run(npm, ['install', '--no-audit', '--no-fund', '--no-update-notifier', '--loglevel=error', tarball,
    ...SCRATCH_DEPENDENCIES], { cwd: dir, timeoutMs: 150_000 })
  if (r.code !== 0) throw new Error(describeRun('npm install in the scratch project', r))
  if (!existsSync(path.join(dir, 'node_modules', 'aedes-proxy-protocol', 'package.json'))) {
    throw new Error(`the tarball was not installed into ${dir}/node_modules`)
  }
}

/** The sources of the per-version scratch projects (scratch/aedes/). */
const AEDES_SOURCES = path.join(SCRATCH_SOURCES, 'aedes')

/** What `npm install` is given for one aedes version: the exact version the repo tests (e.g. aedes@0.51.3). */
export function aedesSpec (version: AedesVersion): string {
  return `aedes@${installedAedes(version)}`
}

/**
 * A scratch project for one aedes version: the tarball and that exact aedes
 * installed together with a plain `npm install` (no --legacy-peer-deps: the
 * peer range must admit it), the version's usage file (scratch/aedes/), and
 * smoke.js. tsconfig.aedes.json compiles them with the strictest flags.
 * Throws with npm's output when the install fails.
 */
export async function createAedesScratch (dir: string, tarball: string, version: AedesVersion): Promise<void> {
  mkdirSync(dir, { recursive: true })
  for (const file of ['package.json', 'tsconfig.strictest.json']) {
    copyFileSync(path.join(PROJECT, file), path.join(dir, file))
  }
  const usage = `aedes-${version === '0.51' ? '0.51' : '1'}.ts`
  for (const file of ['plugins.ts', 'smoke.ts', usage]) {
    copyFileSync(path.join(AEDES_SOURCES, file), path.join(dir, file))
  }
  writeFileSync(path.join(dir, 'tsconfig.aedes.json'),
    JSON.stringify({ extends: './tsconfig.strictest.json', include: ['plugins.ts', 'smoke.ts', usage] }, null, 2))
  writeFileSync(path.join(dir, 'smoke.js'), stripTypes(path.join(AEDES_SOURCES, 'smoke.ts')))
  writeCjsApps(path.join(dir, 'cjs'), version)
  const args = ['install', '--no-audit', '--no-fund', '--no-update-notifier', '--loglevel=error',
    tarball, aedesSpec(version), ...TOOLING]
  const r = await run(npm, args, { cwd: dir, timeoutMs: 150_000 })
  if (r.code !== 0) throw new Error(describeRun(`npm install ${aedesSpec(version)} in the scratch project`, r))
}

/** The sources of the CommonJS apps (scratch/cjs/): smoke.cjs, and the TypeScript apps built as CommonJS. */
const CJS_SOURCES = path.join(SCRATCH_SOURCES, 'cjs')

/**
 * The compiler settings of a CommonJS TypeScript user, each emitting to
 * out-<name>/ (run by the package test): `module: commonjs` with the
 * classic resolution (node10: `exports` unread, the package's `types`
 * field), with esModuleInterop as `tsc --init` sets it (zod's own .d.cts,
 * reached through the options' types, need it once skipLibCheck is off),
 * and `module: nodenext` in a CommonJS package (TypeScript 5.8+ models
 * Node's require(esm)). Both check the package's .d.ts (skipLibCheck off).
 * `module: node16` refuses any ESM-only package from CommonJS (TS1479),
 * aedes 1 and 2 included: it models Node 16, which had no require(esm).
 */
export const CJS_TSCONFIGS: Readonly<Record<string, object>> = {
  node10: { module: 'CommonJS', moduleResolution: 'Node10', esModuleInterop: true },
  nodenext: {
    module: 'NodeNext', moduleResolution: 'NodeNext', noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true
  }
}

/**
 * The CommonJS apps in `dir` (a cjs/ folder of a per-version scratch project,
 * whose package.json says "type": "commonjs"; node_modules is the parent's):
 * smoke.cjs, serve.ts and the version's app, and tsconfig.cjs-<name>.json
 * for each of {@link CJS_TSCONFIGS}.
 */
function writeCjsApps (dir: string, version: AedesVersion): void {
  mkdirSync(dir, { recursive: true })
  const app = cjsApp(version)
  for (const file of ['package.json', 'smoke.cjs', 'serve.ts', app]) {
    copyFileSync(path.join(CJS_SOURCES, file), path.join(dir, file))
  }
  for (const [name, options] of Object.entries(CJS_TSCONFIGS)) {
    const compilerOptions = {
      target: 'ES2022',
      lib: ['ES2022'],
      types: ['node'],
      strict: true,
      skipLibCheck: false,
      ...options,
      outDir: `out-${name}`,
      rootDir: '.'
    }
    writeFileSync(path.join(dir, `tsconfig.cjs-${name}.json`),
      JSON.stringify({ compilerOptions, include: ['serve.ts', app] }, null, 2))
  }
}

/** The CommonJS TypeScript app for one aedes version (scratch/cjs/). */
export function cjsApp (version: AedesVersion): string {
  return `app-${version === '0.51' ? '0.51' : '1'}.ts`
}

/** `tsc -p tsconfig.cjs-<name>.json` (emitting) in the cjs/ folder of a per-version scratch project: failures. */
export async function buildCjsScratch (dir: string): Promise<string[]> {
  return await typecheckScratch(dir, Object.keys(CJS_TSCONFIGS).map(name => `tsconfig.cjs-${name}.json`), 'cjs')
}

/** The aedes version installed in a scratch project. */
export function scratchAedes (dir: string): string {
  const file = path.join(dir, 'node_modules', 'aedes', 'package.json')
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
}

/** `tsc -p <config>` in the scratch project (or its folder `sub`), for each config; the failures. */
export async function typecheckScratch (dir: string, configs = SCRATCH_TSCONFIGS, sub = '.'): Promise<string[]> {
  const tsc = path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc')
  const results = await Promise.all(configs.map(async config => {
    const r = await run(process.execPath, [tsc, '-p', config, '--pretty', 'false'],
      { cwd: path.join(dir, sub), timeoutMs: 90_000 })
    return r.code === 0 ? undefined : describeRun(`tsc -p ${path.join(sub, config)}`, r)
  }))
  return results.filter((r): r is string => r !== undefined)
}

/** `node smoke.js` in the scratch project, and the JSON line it printed last. */
export async function smokeScratch (dir: string): Promise<{ result: RunResult, smoke: SmokeResult | undefined }> {
  const result = await run(process.execPath, ['smoke.js'], { cwd: dir, timeoutMs: 20_000 })
  const line = result.stdout.trim().split('\n').pop() ?? ''
  let smoke: SmokeResult | undefined
  try { smoke = JSON.parse(line) as SmokeResult } catch { smoke = undefined }
  return { result, smoke }
}

/** Loggers a library user should never get without asking. */
const LOGGERS = ['pino', 'winston', 'bunyan', 'log4js']

/**
 * What the installed library brings at run time (`npm ls --omit=dev`): its
 * own dependencies, and any logger anywhere in the production tree. The
 * ready-to-run broker's pino and ws are optional peer dependencies, so
 * neither may be among them.
 */
export async function runtimeDependencies (dir: string, name = 'aedes-proxy-protocol'):
Promise<{ own: string[], loggers: string[] }> {
  const r = await run(npm, ['ls', '--omit=dev', '--all', '--json', '--loglevel=error'], { cwd: dir, timeoutMs: 60_000 })
  interface Tree { dependencies?: Record<string, Tree> }
  let tree: Tree
  try { tree = JSON.parse(r.stdout) as Tree } catch { throw new Error(describeRun('npm ls --omit=dev', r)) }
  const loggers = new Set<string>()
  const walk = (t: Tree): void => {
    for (const [dep, sub] of Object.entries(t.dependencies ?? {})) {
      if (LOGGERS.includes(dep)) loggers.add(dep)
      walk(sub)
    }
  }
  walk(tree)
  return { own: Object.keys(tree.dependencies?.[name]?.dependencies ?? {}).sort(), loggers: [...loggers].sort() }
}
