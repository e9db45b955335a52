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
    if (p.resolutionKind !== undefined && ATTW_IGNORED_RESOLUTIONS.has(p.resolutionKind)) continue
    problems.push(`attw ${p.kind} at ${p.entrypoint ?? '?'} (${p.resolutionKind ?? 'any resolution'})`)
  }
  if (result.code !== 0 && problems.length === 0) problems.push(describeRun('attw --profile esm-only', result))
  return { problems, result }
}
