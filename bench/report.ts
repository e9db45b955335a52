// Turns results into the targets verdict and the Markdown report. How each
// section measures is in bench/README.md; the report says what was run.
import type { Measure, PairedVariantResult, Results, Target } from './results.js'
import type { Interval, Summary } from './stats.js'

function num (x: number, digits = 0): string {
  if (!Number.isFinite(x)) return '–'
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function si (x: number): string {
  if (!Number.isFinite(x)) return '–'
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`
  return x.toFixed(0)
}

function spread (s: Summary, f: (x: number) => string): string {
  return Number.isFinite(s.median) ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : '–'
}

/** The interval holds 1.00 (the method against itself). */
const holds = (x: Interval): boolean => x.lo <= 1 && x.hi >= 1

/** A ratio with its 95 % interval: 1.031× (0.998×–1.065×). */
function interval (x: Interval | undefined, unit = '×', digits = 3): string {
  if (x === undefined || !Number.isFinite(x.mean)) return '–'
  return `${x.mean.toFixed(digits)}${unit} (${x.lo.toFixed(digits)}${unit}–${x.hi.toFixed(digits)}${unit})`
}

const ratio = (s: Summary | undefined): string => s === undefined ? '' : spread(s, x => `${x.toFixed(3)}×`)

export function evaluateTargets (r: Results): Target[] {
  const targets: Target[] = []
  const target = (text: string, measured: string, met: boolean | null): number => targets.push({ text, measured, met })
  const p = r.parse
  if (p !== undefined) {
    for (const c of p.cases) {
      const { best = null, ratioToBest: toBest, ratioToHand: toHand } = p.peers[c.id] ?? {}
      const name = best === null ? 'none' : p.candidates.find(x => x.id === best)?.label ?? best
      target(`issue 13: parser ≥ 1.0× the fastest other parser that is not wrong (${name}) and ≥ 0.3× the ` +
        `fixed-field reader, ${c.label}`,
      toHand === undefined
        ? 'not measured'
        : `${toBest === undefined ? 'no correct peer' : `${ratio(toBest)} of ${name}`}; ${ratio(toHand)} of the reader`,
      toHand === undefined ? null : (toBest === undefined || toBest.median >= 1) && toHand.median >= 0.3)
    }
    const ours = p.correctness.ours
    const decoded = ours !== undefined && ours.tlvs.includes('awsVpceId') && ours.tlvs.includes('cn=')
    target('parser correct on the TLV case (MQTT start, source address, TLVs)', ours === undefined
      ? 'not measured'
      : `MQTT starts at ${String(ours.start)}, source ${String(ours.source)}, ${ours.verdict}; TLVs: ${ours.tlvs}`,
    ours === undefined ? null : ours.verdict === 'correct' && decoded)
  }
  const c = r.cpu
  if (c !== undefined) {
    const both = (pick: (m: Measure) => Interval | undefined): string =>
      `main thread ${interval(pick(c.mainThread))}; whole process ${interval(pick(c.process))}`
    // Each ratio on both counts, or null when this run did not measure it.
    const within = (pick: (m: Measure) => Interval | undefined, bound: number): boolean | null => {
      const [a, b] = [pick(c.mainThread), pick(c.process)]
      return a === undefined || b === undefined ? null : a.mean <= bound && b.mean <= bound
    }
    for (const [id, text] of [
      ['pp-rec-v1', 'plain aedes, recommended configuration (trustedProxies), v1 header, TCP'],
      ['pp-rec-v2', 'plain aedes, recommended configuration, v2 header (AWS NLB), TCP'],
      ['tls-pp-rec-v2', 'plain TLS, recommended configuration, v2 header before the handshake']
    ] as const) {
      const failed = c.variants.find(v => v.id === id)?.failed ?? 0
      const met = within(m => m.ratio[id], 1.05)
      target(`issue 13: broker CPU/connection ≤ 1.05× ${text}`,
        met === null ? 'not measured' : `${both(m => m.ratio[id])}${failed > 0 ? `; ${failed} failed` : ''}`,
        met === null ? null : met && failed === 0)
    }
    const met = within(m => m.vsIncumbent, 1)
    target('issue 13: the plugin (recommended, v1) ÷ aedes-server-factory trustProxy (v1) ≤ 1.00×',
      met === null ? 'not measured' : both(m => m.vsIncumbent), met)
    const ran = (id: string): boolean => c.variants.some(v => v.id === id)
    const self = (family: 'tcp' | 'tls'): boolean =>
      holds(c.mainThread.selfCheck[family]) && holds(c.process.selfCheck[family])
    target('issue 13: the method against itself: plain aedes ÷ an identical one holds 1.00 (TCP, TLS)',
      `TCP: ${both(m => m.selfCheck.tcp)}; TLS: ${both(m => m.selfCheck.tls)}`,
      // A run of chosen --variants may leave out a family: that family is not judged.
      !ran('plain-again') && !ran('tls-again')
        ? null
        : (!ran('plain-again') || self('tcp')) && (!ran('tls-again') || self('tls')))
  }
  const t = r.throughput
  if (t !== undefined) {
    target('throughput behind the plugin ≥ 0.99× direct (plain against itself must hold 1.00)',
      `${interval(t.ratio)}; broker CPU/message ${interval(t.cpuRatio)}; plain against itself ${interval(t.selfCheck)}`,
      t.ratio.mean >= 0.99 && holds(t.selfCheck))
  }
  return targets
}

/** A Markdown table; `align`: a letter a column, l or r. */
function table (head: readonly string[], rows: ReadonlyArray<readonly string[]>, align = ''): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|').replace(/\n/g, ' ')
  const line = (cells: readonly string[]): string => `| ${cells.map(esc).join(' | ')} |`
  return [line(head), line(head.map((_, i) => align[i] === 'r' ? '---:' : '---')), ...rows.map(line)].join('\n')
}

export function renderMarkdown (r: Results): string {
  const m = r.meta
  const mc = m.machine
  const end = Number.isFinite(mc.loadavg.end) ? mc.loadavg.end.toFixed(2) : '?'
  const out: string[] = ['# aedes-proxy-protocol benchmarks', '',
    `${m.mode} run, ${m.date.slice(0, 19).replace('T', ' ')} UTC, ${m.durationS} s. ${mc.nproc} × ${mc.cpuModel}, ` +
      `${mc.totalMemGiB} GiB, ${mc.platform}, Node ${mc.node}, ` +
      `load average ${mc.loadavg.start.toFixed(2)} at the start and ${end} at the end. ` +
      `${Object.entries(m.packages).map(([k, v]) => `${k} ${v}`).join(', ')}. ` +
      'How each section measures: bench/README.md.', '',
    '## Targets', '',
    table(['target', 'measured', 'met'],
      r.targets.map(t => [t.text, t.measured, t.met === null ? 'n/a' : t.met ? 'yes' : '**no**'])),
    '']

  const p = r.parse
  if (p !== undefined) {
    const cands = p.candidates
    const label = (id: string): string => cands.find(x => x.id === id)?.label ?? id
    const { reps, targetMs } = m.config.parse
    out.push(`## 1. Parsing (ops per CPU-second, ${reps} repetitions of ~${targetMs} ms)`, '')
    out.push(table(['case', ...cands.map(c => c.label)], p.cases.map(c => [
      `${c.label} (${c.headerBytes} B header)`,
      ...cands.map(cd => {
        const s = p.opsPerSec[c.id]?.[cd.id]
        return s === undefined ? '–' : 'median' in s ? spread(s, si) : `error: ${s.error}`
      })
    ]), `l${'r'.repeat(cands.length)}`), '')
    out.push('Against the fastest other parser not wrong on the case, and the fixed-field reader (paired ratios):', '')
    out.push(table(['case', 'fastest correct other', 'ours ÷ it', 'ours ÷ reader', 'TLVs read ÷ it', 'counted wrong'],
      p.cases.map(c => {
        const peer = p.peers[c.id]
        const wrong = Object.entries(peer?.wrong ?? {}).map(([id, why]) => `${label(id)}: ${why}`).join('; ')
        return [c.label, peer?.best == null ? 'none' : label(peer.best), ratio(peer?.ratioToBest),
          ratio(peer?.ratioToHand), ratio(peer?.readRatioToBest), wrong === '' ? '–' : wrong]
      }), 'llrrrl'), '')
    const tlvCase = p.cases[p.cases.length - 1]
    const bytes = tlvCase?.headerBytes ?? '?'
    out.push(`Where each thinks the MQTT bytes start on ${tlvCase?.label ?? ''} (header: ${bytes} B):`, '')
    out.push(table(['candidate', 'MQTT starts at', 'source', 'TLVs', 'verdict'], cands.map(c => {
      const x = p.correctness[c.id]
      if (x === undefined) return [c.label, '–', '–', '–', c.error ?? 'not run']
      return [c.label, x.start === null ? 'not reported' : String(x.start),
        x.source === null ? '–' : `${x.source} port ${String(x.sourcePort)}`, x.tlvs, x.verdict]
    })), '')
    for (const c of cands) out.push(`- ${c.label}: ${c.error !== undefined ? `**${c.error}**` : c.note}`)
    out.push('')
  }

  const c = r.cpu
  if (c !== undefined) {
    out.push(`## 2. Broker CPU per connection, every variant in one process (${c.rounds} rounds, ${c.epochs} ` +
      `process(es) × ${c.instances} instances, ${c.warmupRounds} untimed rounds each; batches of ${c.count}, ` +
      `${c.tlsCount} for TLS, ${c.concurrency} at a time; ${Math.round(c.wallS)} s)`, '')
    const head = ['variant', 'main thread µs/conn', 'main thread ÷ plain', 'process µs/conn', 'process ÷ plain']
    const cells = (m: Measure, v: PairedVariantResult): string[] =>
      [interval(m.perConnUs[v.id], '', 1), v.baseline === true ? '—' : interval(m.ratio[v.id])]
    out.push(table([...head, 'failed'], c.variants.map(v =>
      [`\`${v.id}\`: ${v.label}`, ...cells(c.mainThread, v), ...cells(c.process, v), String(v.failed)]), 'lrrrrr'), '')
    out.push('The plugin (recommended, v1) ÷ aedes-server-factory trustProxy (v1): main thread ' +
      `${interval(c.mainThread.vsIncumbent)}, process ${interval(c.process.vsIncumbent)}.`, '')
  }

  if (r.probes !== undefined) {
    out.push('## 3. Failure probes (a fresh broker each, one connection at a time, 2 s timeout per connection)', '')
    out.push(table(['probe', 'CONNACKs', 'failures', 'broker'], r.probes.map(p => [
      p.label,
      `${p.ok}/${p.count}`,
      Object.entries(p.failures).map(([k, n]) => `${k} ×${n}`).join(', ') || '–',
      p.brokerCrashed
        ? `**crashed**: ${p.crash ?? ''}`
        : (p.brokerErrors ?? 0) > 0
            ? `running, ${String(p.brokerErrors)} 'error' events (${p.brokerErrorSample ?? ''})`
            : 'running'
    ])), '')
  }

  const t = r.throughput
  if (t !== undefined) {
    out.push(`## 4. Throughput, every broker in one process (${t.rounds} rounds, ${t.epochs} process(es) × ` +
      `${t.instances} instances, ${num(t.messages)} QoS 0 messages per run; CPU: the main thread's)`, '')
    const againstPlain = (id: string, plugin: Interval, self: Interval): string =>
      id === 'plugin' ? interval(plugin) : id === 'plain-again' ? `${interval(self)} (against the first)` : '—'
    out.push(table(['variant', 'messages/s', 'µs/msg', 'messages/s ÷ plain', 'CPU/msg ÷ plain'], t.variants.map(v => [
      v.label,
      `${num(v.msgsPerSec.mean)} (±${num(v.msgsPerSec.mean - v.msgsPerSec.lo)})`,
      `${num(v.cpuPerMsgUs.mean, 2)} (±${num(v.cpuPerMsgUs.mean - v.cpuPerMsgUs.lo, 2)})`,
      againstPlain(v.id, t.ratio, t.selfCheck),
      againstPlain(v.id, t.cpuRatio, t.cpuSelfCheck)
    ]), 'lrrrr'), '')
  }

  if (m.notes.length > 0) out.push('## Notes', '', ...m.notes.map(n => `- ${n}`), '')
  out.push('Reproduce: `npm run bench` (full) or `npm run bench:quick`.', '')
  return out.join('\n')
}
