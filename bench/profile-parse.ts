// Profiles one parser candidate on one case with V8's CPU profiler and
// prints where the time goes:
//   node --import tsx bench/profile-parse.ts [candidate=ours] [case=all] [seconds=3]
// It re-runs itself under `node --cpu-prof` and summarises the profile.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CANDIDATES } from './candidates.js'
import { PARSE_CASES } from './cases.js'
import { summarizeProfile } from './profile.js'

const [candidateId = 'ours', caseId = 'all', secondsText = '3'] = process.argv.slice(2)
const seconds = Number(secondsText)
const cases = caseId === 'all' ? PARSE_CASES : PARSE_CASES.filter(c => c.id === caseId)
if (cases.length === 0) throw new Error(`unknown case ${caseId}: ${PARSE_CASES.map(c => c.id).join(', ')}`)

if (process.env.BENCH_PROFILE_CHILD !== '1') {
  const dir = mkdtempSync(join(tmpdir(), 'bench-prof-'))
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${dir}`, fileURLToPath(import.meta.url), candidateId, caseId, secondsText],
      { stdio: 'inherit', env: { ...process.env, BENCH_PROFILE_CHILD: '1' }, timeout: (seconds * cases.length + 30) * 1000 })
    if (r.status !== 0) throw new Error(`profiled run failed: ${String(r.status)} ${String(r.signal)}`)
    for (const f of readdirSync(dir)) console.log(summarizeProfile(join(dir, f), 25))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
} else {
  const make = CANDIDATES[candidateId]
  if (make === undefined) throw new Error(`unknown candidate ${candidateId}`)
  const cand = await make()
  let sink = 0
  for (const c of cases) {
    const end = performance.now() + seconds * 1000
    let n = 0
    while (performance.now() < end) {
      for (let i = 0; i < 1000; i++) sink = (sink + cand.run(c.bytes)) | 0
      n += 1000
    }
    console.log(`${cand.label} ${c.label}: ${(n / seconds / 1000).toFixed(0)} k ops/s (sink ${sink})`)
  }
}
