// Summarises V8 CPU profiles (node --cpu-prof): self time per function and
// per source area, as shares of the profile's busy (non-idle) time.
//   node --import tsx bench/profile.ts bench/results/profiles/*.cpuprofile
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

interface CallFrame { readonly functionName: string, readonly url: string, readonly lineNumber: number }
interface ProfileNode { readonly id: number, readonly callFrame: CallFrame }
interface CpuProfile { readonly nodes: readonly ProfileNode[], readonly samples: readonly number[], readonly timeDeltas: readonly number[] }

// (program) is native work outside JS (for example TLS handshakes driven
// from libuv): busy, not idle.
const IDLE = new Set(['(idle)'])

function area (url: string, name: string): string {
  if (name === '(garbage collector)') return 'GC'
  if (url.includes('/bench/results/build.tmp/') || url.includes('/main/dist/')) return 'aedes-proxy-protocol (compiled src/)'
  if (url.includes('/node_modules/aedes/')) return 'aedes'
  if (url.includes('/node_modules/mqtt-packet/')) return 'mqtt-packet'
  if (url.includes('/node_modules/')) return `node_modules/${url.split('/node_modules/').pop()?.split('/')[0] ?? ''}`
  if (url.startsWith('node:')) return 'node core'
  if (url.includes('/bench/')) return 'bench/'
  return url === '' ? 'native/builtin' : 'other'
}

function short (url: string): string {
  const i = url.lastIndexOf('/main/')
  return i >= 0 ? url.slice(i + 6) : url.replace(/^file:\/\//, '')
}

/** Top functions by self time and shares by area, as text. */
export function summarizeProfile (file: string, top = 15, label = basename(file)): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(p.nodes.map(n => [n.id, n]))
  const selfUs = new Map<number, number>()
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0))
  }
  const byFn = new Map<string, number>()
  const byArea = new Map<string, number>()
  let busy = 0
  for (const [id, us] of selfUs) {
    const n = byId.get(id)
    if (n === undefined) continue
    const { functionName, url, lineNumber } = n.callFrame
    if (IDLE.has(functionName)) continue
    busy += us
    const key = `${functionName === '' ? '(anonymous)' : functionName}  ${short(url)}${url === '' ? '' : `:${lineNumber + 1}`}`
    byFn.set(key, (byFn.get(key) ?? 0) + us)
    const a = area(url, functionName)
    byArea.set(a, (byArea.get(a) ?? 0) + us)
  }
  const pct = (us: number): string => `${(100 * us / Math.max(1, busy)).toFixed(1).padStart(5)} %`
  const lines = [`${label}: ${(busy / 1000).toFixed(0)} ms busy (${basename(file)})`]
  lines.push('  by area:')
  for (const [a, us] of [...byArea].sort((x, y) => y[1] - x[1]).slice(0, 10)) lines.push(`    ${pct(us)}  ${a}`)
  const ours = [...byFn].filter(([k]) => /build\.tmp\/|^\S+ {2}dist\//.test(k)).sort((x, y) => y[1] - x[1]).slice(0, 10)
  if (ours.length > 0) {
    lines.push('  top plugin functions by self time:')
    for (const [k, us] of ours) lines.push(`    ${pct(us)}  ${k}`)
  }
  lines.push(`  top ${top} functions by self time:`)
  for (const [k, us] of [...byFn].sort((x, y) => y[1] - x[1]).slice(0, top)) lines.push(`    ${pct(us)}  ${k}`)
  return lines.join('\n')
}

/**
 * Summaries of the main-thread profiles among `files` (V8 names them
 * CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile; tid 0 is the main thread),
 * labelled through `names` (pid to name) when given.
 */
export function summarizeProfiles (files: readonly string[], names: ReadonlyMap<number, string> = new Map(), top = 15): string {
  const out: string[] = []
  for (const f of files) {
    const m = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\.\d+\.cpuprofile$/.exec(basename(f))
    if (m !== null && m[2] !== '0') continue // tsx's loader thread
    const pid = m === null ? NaN : Number(m[1])
    out.push(summarizeProfile(f, top, names.get(pid) ?? basename(f)))
  }
  return out.join('\n\n')
}

if (process.argv[1]?.endsWith('profile.ts') === true && process.argv.length > 2) {
  console.log(summarizeProfiles(process.argv.slice(2)))
}
