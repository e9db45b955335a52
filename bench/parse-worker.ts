// One parser candidate in its own process, so no candidate's JIT state or
// garbage affects another's timing. Usage (by run.ts): parse-worker.ts <candidate>
import { CANDIDATES, safeInspect, type Candidate } from './candidates.js'
import { PARSE_CASES } from './cases.js'
import { serve, type Request } from './children.js'

const id = process.argv[2] ?? ''
let candidate: Candidate | undefined
let loadError: string | undefined
try {
  const make = CANDIDATES[id]
  if (make === undefined) throw new Error(`unknown candidate ${id}`)
  candidate = await make()
} catch (err) {
  loadError = err instanceof Error ? err.message : String(err)
}

function bytesOf (req: Request): Buffer {
  const c = PARSE_CASES.find(x => x.id === req.caseId)
  if (c === undefined) throw new Error(`unknown case ${String(req.caseId)}`)
  return c.bytes
}

let sink = 0

/**
 * Runs `n` parses; returns the process's CPU time for them (user + system,
 * ns), which unlike wall time does not count the time this process spent
 * descheduled on a busy machine, and the wall time.
 */
function timed (cand: Candidate, buf: Buffer, n: number): { ns: number, wallNs: number } {
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) sink = (sink + cand.run(buf)) | 0
  const wallNs = Number(process.hrtime.bigint() - t0)
  const c = process.cpuUsage(c0)
  return { ns: (c.user + c.system) * 1000, wallNs }
}

function need (): Candidate {
  if (candidate === undefined) throw new Error(loadError ?? 'no candidate')
  return candidate
}

serve({
  inspect: req => safeInspect(need(), bytesOf(req)),
  // Iterations that take about `targetMs`, found by doubling (bounded).
  calibrate: req => {
    const cand = need()
    const buf = bytesOf(req)
    const target = Number(req.targetMs) * 1e6
    let n = 64
    for (let round = 0; round < 30; round++) {
      const { wallNs } = timed(cand, buf, n)
      if (wallNs >= target / 4) return Math.max(1, Math.round(n * target / wallNs))
      n *= 2
    }
    return n
  },
  run: req => {
    const t = timed(need(), bytesOf(req), Number(req.iterations))
    return { ...t, sink }
  }
}, {
  candidate: id,
  ...(candidate !== undefined && { label: candidate.label, note: candidate.note }),
  ...(loadError !== undefined && { error: loadError })
})
