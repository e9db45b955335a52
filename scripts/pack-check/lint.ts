// Step 3: publint and @arethetypeswrong/cli on the tarball.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { root } from './paths.js'
import { describeRun, run, type RunResult } from './run.js'

/** publint on the tarball, strict (warnings are errors) and with suggestions: every message. */
export async function runPublint (tarball: string): Promise<string[]> {
  const buf = readFileSync(tarball)
  const data = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
  const { messages, pkg } = await publint({ pack: { tarball: data }, strict: true, level: 'suggestion' })
  return messages.map(m => `publint ${m.type} ${m.code}: ${formatMessage(m, pkg, { color: false }) ?? m.code}`)
}

/**
 * The one attw finding that is expected: `CJSResolvesToESM` under
 * `node16-cjs`, TypeScript's model of Node 16, where require() of an ES
 * module throws. The package is ESM without top-level await and its
 * engines are the Node versions whose require() loads it (require(esm):
 * 20.19+, 22.12+); TypeScript models those with `module: nodenext` (5.8+)
 * or `node20`, and the package test builds and runs CommonJS TypeScript
 * apps both that way and with `module: commonjs`. Every other finding, in
 * every resolution mode (node10 included), is a problem. attw runs with the
 * esm-only profile so that its exit code does not count this one.
 */
export const ATTW_EXPECTED = new Set(['CJSResolvesToESM@node16-cjs'])

interface AttwProblem { readonly kind: string, readonly entrypoint?: string, readonly resolutionKind?: string }

/** @arethetypeswrong/cli on the tarball with the esm-only profile: the problems but the expected one. */
export async function runAttw (tarball: string, dir = root): Promise<{ problems: string[], result: RunResult }> {
  const bin = path.join(dir, 'node_modules', '.bin', process.platform === 'win32' ? 'attw.cmd' : 'attw')
  const result = await run(bin, [tarball, '--profile', 'esm-only', '--format', 'json', '--no-definitely-typed'],
    { cwd: dir, timeoutMs: 60_000 })
  const problems: string[] = []
  let parsed: { problems?: Record<string, AttwProblem[]> | AttwProblem[] } | undefined
  try {
    parsed = JSON.parse(result.stdout) as typeof parsed
  } catch {
    problems.push(describeRun('attw printed no JSON', result))
  }
  const found = parsed?.problems
  const list = found === undefined ? [] : Array.isArray(found) ? found : Object.values(found).flat()
  for (const p of list) {
    if (ATTW_EXPECTED.has(`${p.kind}@${p.resolutionKind ?? ''}`)) continue
    problems.push(`attw ${p.kind} at ${p.entrypoint ?? '?'} (${p.resolutionKind ?? 'any resolution'})`)
  }
  if (result.code !== 0 && problems.length === 0) problems.push(describeRun('attw --profile esm-only', result))
  return { problems, result }
}
