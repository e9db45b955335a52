// Turns results into the targets verdict, a Markdown report and an SVG chart
// (hand-written: horizontal bars of ratios with min-max whiskers, one group
// per benchmark, a line at 1.0 and a dashed line at the target).
import type { Measure, Results, Target } from './results.js'
import type { Interval, Summary } from './stats.js'

const KIB = 1024

// ---------------------------------------------------------------- formatting

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
  if (!Number.isFinite(s.median)) return '–'
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`
}

/** The interval holds 1.00 (the method against itself). */
function holds (x: Interval): boolean {
  return x.lo <= 1 && x.hi >= 1
}

/** An interval drawn as a bar: its mean, with the interval as the whisker. */
function asSummary (x: Interval): Summary {
  return { median: x.mean, min: x.lo, max: x.hi, values: [] }
}

/** A ratio with its 95 % interval: 1.031× (0.998×–1.065×). */
function interval (x: Interval | undefined, unit = '×', digits = 3): string {
  if (x === undefined || !Number.isFinite(x.mean)) return '–'
  return `${x.mean.toFixed(digits)}${unit} (${x.lo.toFixed(digits)}${unit}–${x.hi.toFixed(digits)}${unit})`
}

const ratio = (s: Summary | undefined): string => s === undefined ? '' : spread(s, x => `${x.toFixed(3)}×`)
const ms = (x: number): string => x < 10 ? x.toFixed(2) : x.toFixed(1)
const bytes = (x: number): string => `${num(x)} B`

function isSummary (x: unknown): x is Summary {
  return typeof x === 'object' && x !== null && 'median' in x
}

// ---------------------------------------------------------------- targets

export function evaluateTargets (r: Results): Target[] {
  const targets: Target[] = []
  if (r.parse !== undefined) {
    for (const c of r.parse.cases) {
      const s = r.parse.ratioToHand[c.id]?.ours
      targets.push({
        id: `parse-${c.id}`,
        text: `parser ≥ 0.8× the hand-written fixed-field reader, ${c.label}`,
        measured: s === undefined ? 'not measured' : ratio(s),
        met: s === undefined ? null : s.median >= 0.8
      })
    }
    for (const c of r.parse.cases) {
      const peer = r.parse.peers?.[c.id]
      const best = peer?.best ?? null
      const name = best === null ? 'none' : r.parse.candidates.find(x => x.id === best)?.label ?? best
      const toBest = peer?.ratioToBest
      const toHand = peer?.ratioToHand
      targets.push({
        id: `parse-peer-${c.id}`,
        text: `issue 13: parser ≥ 1.0× the fastest other parser that is not wrong (${name}) and ≥ 0.3× the fixed-field reader, ${c.label}`,
        measured: toHand === undefined ? 'not measured' : `${toBest === undefined ? 'no correct peer' : `${ratio(toBest)} of ${name}`}; ${ratio(toHand)} of the fixed-field reader`,
        met: toHand === undefined ? null : (toBest === undefined || toBest.median >= 1) && toHand.median >= 0.3
      })
    }
    const ours = r.parse.correctness.ours
    targets.push({
      id: 'parse-correct',
      text: 'parser correct on the TLV case (MQTT start, source address)',
      measured: ours === undefined ? 'not measured' : `MQTT starts at ${String(ours.start)} (header: ${ours.expectedStart} B), source ${String(ours.source)}; TLVs decoded: ${ours.tlvs}`,
      met: ours === undefined ? null : ours.correct && ours.sourceCorrect && ours.tlvs.includes('awsVpceId') && ours.tlvs.includes('cn=')
    })
  }
  if (r.connections !== undefined) {
    const v = (id: string): (typeof r.connections.variants)[number] | undefined => r.connections?.variants.find(x => x.id === id)
    const cpu = (id: string, text: string): void => {
      const x = v(id)
      const s = x?.cpuRatio
      const extra = x?.cpuRatioVsPlain !== undefined ? `; vs plain aedes with the CONNECT whole: ${ratio(x.cpuRatioVsPlain)}` : ''
      targets.push({
        id: `cpu-${id}`,
        text,
        measured: s === undefined ? 'not measured' : `${ratio(s)}${x?.cpuRatioOfTotals !== undefined ? ` (ratio of totals ${x.cpuRatioOfTotals.toFixed(3)}×)` : ''}${extra}`,
        met: s === undefined ? null : s.median <= 1.03 && (x?.failed ?? 0) === 0
      })
    }
    cpu('pp-v1', 'one process per variant (section 3), proxyEnabled alone: broker CPU/connection ≤ 1.03× plain aedes: v1 header, whole')
    cpu('pp-v2', 'one process per variant (section 3), proxyEnabled alone: broker CPU/connection ≤ 1.03× plain aedes: v2 header, whole')
    cpu('pp-v1-split', 'one process per variant (section 3), proxyEnabled alone: broker CPU/connection ≤ 1.03× plain aedes: v1 header split (vs plain aedes with its CONNECT split the same way)')
    cpu('pp-v2-split', 'one process per variant (section 3), proxyEnabled alone: broker CPU/connection ≤ 1.03× plain aedes: v2 header split (vs plain aedes with its CONNECT split the same way)')
    cpu('tls-pp-v2', 'one process per variant (section 3), proxyEnabled alone: broker CPU/connection ≤ 1.03× plain TLS on the TLS listener')
  }
  if (r.cpu !== undefined) {
    const c = r.cpu
    const both = (pick: (m: Measure) => Interval | undefined): string => {
      const a = pick(c.mainThread)
      const b = pick(c.process)
      return `main thread ${interval(a)}; whole process ${interval(b)}`
    }
    const cpuTarget = (id: string, text: string, limit: number): void => {
      const a = c.mainThread.ratio[id]
      const b = c.process.ratio[id]
      const failed = c.variants.find(v => v.id === id)?.failed ?? 0
      targets.push({
        id: `cpu1-${id}`,
        text,
        measured: a === undefined || b === undefined ? 'not measured' : `${both(m => m.ratio[id])}${failed > 0 ? `; ${failed} failed` : ''}`,
        met: a === undefined || b === undefined ? null : a.mean <= limit && b.mean <= limit && failed === 0
      })
    }
    cpuTarget('pp-rec-v1', 'issue 13: broker CPU/connection ≤ 1.05× plain aedes, recommended configuration (trustedProxies), v1 header, TCP (one process, mean and 95 % interval)', 1.05)
    cpuTarget('pp-rec-v2', 'issue 13: broker CPU/connection ≤ 1.05× plain aedes, recommended configuration, v2 header (AWS NLB), TCP', 1.05)
    cpuTarget('tls-pp-rec-v2', 'issue 13: broker CPU/connection ≤ 1.05× plain TLS, recommended configuration, v2 header before the handshake', 1.05)
    const inc = (m: Measure): Interval | undefined => m.vsIncumbent
    targets.push({
      id: 'cpu1-incumbent',
      text: 'issue 13: no worse than the incumbent in the same run: the plugin (recommended configuration, v1) ÷ aedes-server-factory trustProxy (v1) ≤ 1.00×',
      measured: inc(c.mainThread) === undefined ? 'not measured' : both(inc),
      met: inc(c.mainThread) === undefined || inc(c.process) === undefined ? null : (inc(c.mainThread) as Interval).mean <= 1 && (inc(c.process) as Interval).mean <= 1
    })
    const self = (m: Measure): Interval => m.selfCheck.tcp
    const ran = (id: string): boolean => c.variants.some(v => v.id === id)
    targets.push({
      id: 'cpu1-self',
      text: 'issue 13: the method against itself: plain aedes ÷ an identical plain aedes is 1.00 within its 95 % interval (TCP and TLS)',
      measured: `TCP: ${both(self)}; TLS: ${both(m => m.selfCheck.tls)}`,
      // A run of chosen --variants may leave out a family: that family is not judged.
      met: !ran('plain-again') && !ran('tls-again')
        ? null
        : (!ran('plain-again') || (holds(c.mainThread.selfCheck.tcp) && holds(c.process.selfCheck.tcp))) &&
          (!ran('tls-again') || (holds(c.mainThread.selfCheck.tls) && holds(c.process.selfCheck.tls)))
    })
  }
  if (r.throughput !== undefined) {
    const s = r.throughput.ratio
    const p = r.throughput.paired
    if (p === undefined) {
      targets.push({ id: 'throughput', text: 'throughput behind the plugin ≥ 0.99× direct', measured: ratio(s), met: s.median >= 0.99 })
    } else {
      targets.push({
        id: 'throughput',
        text: 'throughput behind the plugin ≥ 0.99× direct (messages/s, every broker in one process, mean and 95 % interval; plain against itself must contain 1.00)',
        measured: `${interval(p.ratio)}; broker CPU/message ${interval(p.cpuRatio)}; plain against itself ${interval(p.selfCheck)}; one process per broker: ${ratio(s)}`,
        met: p.ratio.mean >= 0.99 && holds(p.selfCheck)
      })
    }
  }
  if (r.idle !== undefined) {
    const pp = r.idle.variants.find(x => x.id === 'pp')
    const extra = pp?.extraHeapVsBare
    targets.push({
      id: 'idle-memory',
      text: 'idle socket ≤ 5 KiB beyond a bare Node socket (JS heap + external, after GC)',
      measured: extra === undefined ? 'not measured' : `${spread(extra, bytes)} per socket; RSS: ${pp?.extraRssVsBare !== undefined ? spread(pp.extraRssVsBare, bytes) : '–'}`,
      met: extra === undefined ? null : extra.median <= 5 * KIB
    })
    const t = r.idle.timeoutMs
    const p50 = pp?.closeP50Ms
    const closed = pp?.closedFraction
    targets.push({
      id: 'idle-close',
      text: `idle socket closed at the header timeout (${t} ms)`,
      measured: p50 === undefined || closed === undefined ? 'not measured' : `${num(closed.median * 100, 1)} % closed, p50 ${spread(p50, x => `${num(x)} ms`)}, max ${spread(pp?.closeMaxMs ?? p50, x => `${num(x)} ms`)}`,
      // Timed from the client's 'connect' event, which can run a little after
      // the broker accepted: a few ms early is still the header timeout.
      met: p50 === undefined || closed === undefined ? null : closed.min === 1 && Math.abs(p50.median - t) <= t * 0.05 && (pp?.closeMaxMs.max ?? Infinity) <= t * 1.1 + 250
    })
  }
  return targets
}

// ---------------------------------------------------------------- markdown

function table (head: readonly string[], rows: ReadonlyArray<readonly string[]>, align?: readonly ('l' | 'r')[]): string {
  const sep = head.map((_, i) => (align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'r' ? '---:' : '---')
  const esc = (c: string): string => c.replace(/\|/g, '\\|').replace(/\n/g, ' ')
  return [`| ${head.map(esc).join(' | ')} |`, `| ${sep.join(' | ')} |`, ...rows.map(r => `| ${r.map(esc).join(' | ')} |`)].join('\n')
}

export function renderMarkdown (r: Results, svgName: string): string {
  const m = r.meta
  const out: string[] = []
  out.push('# aedes-proxy-protocol benchmarks', '')
  out.push(`${m.mode} run, ${m.date.slice(0, 19).replace('T', ' ')} UTC, ${m.durationS} s. Machine: ${m.machine.nproc} × ${m.machine.cpuModel}, ${m.machine.totalMemGiB} GiB, ${m.machine.platform}, Node ${m.machine.node}, ` +
    `load average ${m.machine.loadavg.start.toFixed(2)} at the start and ${Number.isFinite(m.machine.loadavg.end) ? m.machine.loadavg.end.toFixed(2) : '?'} at the end. ` +
    `Packages: ${Object.entries(m.packages).map(([k, v]) => `${k} ${v}`).join(', ')}.`, '')
  out.push('Each broker and each parser runs in its own process on 127.0.0.1; variants alternate (A B C, B C A, …) within one run. ' +
    'Values are medians over the repetitions with (min–max); ratios are taken per repetition against the baseline measured next to it, then the median. ' +
    'Broker CPU is the broker process\'s own `process.cpuUsage()` (user + system) from before the first connection until the broker has closed the last one.', '')
  out.push(`![benchmark ratios](${svgName})`, '')

  out.push('## Targets', '')
  out.push(table(['target', 'measured', 'met'], r.targets.map(t => [t.text, t.measured, t.met === null ? 'n/a' : t.met ? 'yes' : '**no**']), ['l', 'l', 'l']), '')

  if (r.parse !== undefined) {
    const p = r.parse
    const cands = p.candidates
    out.push(`## 1. Parsing (ops/s, ${m.config.parse.reps} repetitions of ~${m.config.parse.targetMs} ms per cell)`, '')
    out.push('Each case is the header followed by an MQTT CONNECT in the same buffer. ops/s are parses per CPU-second of the candidate\'s own process (`process.cpuUsage()` around a timed loop), which unlike wall time does not count time the process spent descheduled on a shared machine. Each candidate runs in its own process; cells alternate case by case and candidate by candidate.', '')
    out.push(table(['case', ...cands.map(c => c.label)], p.cases.map(c => [
      `${c.label} (${c.headerBytes} B header)`,
      ...cands.map(cd => {
        const s = p.opsPerSec[c.id]?.[cd.id]
        if (s === undefined) return '–'
        if (!isSummary(s)) return `error: ${s.error}`
        return spread(s, si)
      })
    ])), '')
    out.push('Ratio to the hand-written fixed-field reader (ops/s ÷ its ops/s, paired per repetition):', '')
    out.push(table(['case', ...cands.filter(c => c.id !== 'hand').map(c => c.label)], p.cases.map(c => [
      c.label,
      ...cands.filter(cd => cd.id !== 'hand').map(cd => {
        const s = p.ratioToHand[c.id]?.[cd.id]
        return s === undefined ? '–' : ratio(s)
      })
    ])), '')
    out.push('Against the fastest other parser whose answer is not wrong on the case (issue 13: ≥ 1.0× it and ≥ 0.3× the fixed-field reader; ratios paired per repetition):', '')
    out.push(table(['case', 'fastest correct other parser', 'ours ÷ it', 'ours ÷ fixed-field reader', 'met', 'ours with every TLV read ÷ it', 'answers counted wrong'], p.cases.map(c => {
      const peer = p.peers?.[c.id]
      const best = peer?.best ?? null
      const toBest = peer?.ratioToBest
      const toHand = peer?.ratioToHand
      const met = toHand === undefined ? 'n/a' : (toBest === undefined || toBest.median >= 1) && toHand.median >= 0.3 ? 'yes' : '**no**'
      const wrong = Object.entries(peer?.wrong ?? {}).map(([id, why]) => `${cands.find(x => x.id === id)?.label ?? id}: ${why}`).join('; ')
      return [c.label, best === null ? 'none' : cands.find(x => x.id === best)?.label ?? best, ratio(toBest), ratio(toHand), met, ratio(peer?.readRatioToBest), wrong === '' ? '–' : wrong]
    }), ['l', 'l', 'r', 'r', 'l', 'r', 'l']), '')
    const tlvCase = p.cases[p.cases.length - 1]
    out.push(`Correctness on the last case (${tlvCase?.label ?? ''}): where each candidate thinks the MQTT bytes start (the header is ${tlvCase?.headerBytes ?? '?'} bytes) and what it reports as the source.`, '')
    out.push(table(['candidate', 'MQTT starts at', 'MQTT start', 'source', 'TLVs', 'notes'], cands.map(c => {
      const x = p.correctness[c.id]
      if (x === undefined) return [c.label, '–', '–', '–', '–', c.error ?? 'not run']
      return [c.label, x.start === null ? 'not reported' : String(x.start), x.correct ? 'correct' : '**wrong**',
        x.source === null ? '–' : `${x.source} port ${String(x.sourcePort)}`, x.tlvs, x.verdict]
    }), ['l', 'r', 'l', 'l', 'l', 'l']), '')
    out.push('How each is called:', '')
    for (const c of cands) out.push(`- ${c.label}: ${c.error !== undefined ? `**${c.error}**` : c.note}`)
    out.push('')
  }

  if (r.cpu !== undefined) {
    const c = r.cpu
    out.push(`## 2. Broker CPU per connection, every variant in one process (${c.rounds} rounds over ${c.epochs} process${c.epochs === 1 ? '' : 'es'}, each warmed up with ${c.warmupRounds} untimed rounds)`, '')
    out.push('Every variant is an aedes broker of its own on its own port, all in one process (bench/multi-broker.ts), so they share one JIT, one heap and one stretch of the machine; ' +
      `each variant has ${c.instances} broker instance${c.instances === 1 ? '' : 's'} in the process, and successive pairs of rounds rotate between them (two identical instances in one process can differ by a few percent); ${c.epochs === 1 ? 'one process' : `${c.epochs} processes one after the other, each with fresh instances`}. ` +
      `A round runs one batch per variant in a shuffled order: ${c.count} connections (${c.tlsCount} for TLS), up to ${c.concurrency} at a time, each writing its header and an MQTT CONNECT, waiting for the CONNACK, sending DISCONNECT and closing; the batch ends when the broker holds no connection. ` +
      'CPU is read around each batch, for the main thread (Linux schedstat: where JavaScript, the parser and aedes run) and for the whole process (`process.cpuUsage()`, which adds V8\'s GC and compiler threads, whose work lands in whichever batch is running when they do it). ' +
      'Each ratio is taken per round, as a log, against the mean of the same round\'s two plain brokers (two plain TLS brokers for TLS); the rounds of one process and one set of instances are averaged, and those groups give the geometric mean and its 95 % interval (Student\'s t over the groups, so the interval includes how much instances and processes differ). ' +
      'The two plain brokers are also compared with each other, as any variant is: the method measured against itself.', '')
    const row = (v: (typeof c.variants)[number]): string[] => [
      v.label,
      interval(c.mainThread.perConnUs[v.id], '', 1),
      v.baseline === true ? '—' : interval(c.mainThread.ratio[v.id]),
      interval(c.process.perConnUs[v.id], '', 1),
      v.baseline === true ? '—' : interval(c.process.ratio[v.id]),
      String(v.failed)
    ]
    out.push(table(['variant', 'main thread µs/conn', 'main thread ÷ plain', 'process µs/conn', 'process ÷ plain', 'failed'], c.variants.map(row), ['l', 'r', 'r', 'r', 'r', 'r']), '')
    out.push(`The method against itself (second plain broker ÷ first): TCP main thread ${interval(c.mainThread.selfCheck.tcp)}, process ${interval(c.process.selfCheck.tcp)}; TLS main thread ${interval(c.mainThread.selfCheck.tls)}, process ${interval(c.process.selfCheck.tls)}. ` +
      `The plugin (recommended configuration, v1) ÷ aedes-server-factory trustProxy (v1): main thread ${interval(c.mainThread.vsIncumbent)}, process ${interval(c.process.vsIncumbent)}. ${Math.round(c.wallS)} s in all.`, '')
  }

  if (r.connections !== undefined) {
    const c = r.connections
    const cfg = m.config.connections
    out.push(`## 3. Connections, one process per variant (${cfg.reps} repetitions × ${cfg.count} connections per variant, ${cfg.tlsCount} for TLS)`, '')
    out.push('Each client connects, writes the header and an MQTT CONNECT, waits for the CONNACK, sends DISCONNECT and closes. ' +
      `A repetition runs every variant in ${cfg.batches} interleaved batches of ${Math.ceil(cfg.count / cfg.batches)} connections (${Math.ceil(cfg.tlsCount / cfg.batches)} for TLS), up to ${cfg.concurrency} at a time. ` +
      `The repetitions are spread over ${cfg.epochs} epoch${cfg.epochs === 1 ? '' : 's'}, each with fresh broker processes warmed up with ${cfg.warmup} connections each (a fifth for TLS): the same code can settle into a cost per connection that differs by several percent from one process to the next. ` +
      'Broker CPU counts from before the first connection of a batch until the broker has closed the last one; connections/s is over the batches\' wall time. ' +
      `A split header (or CONNECT) has its first 8 bytes in one write and the rest ${cfg.splitDelayMs} ms later; latency is from connect() to CONNACK and includes that delay. ` +
      'The minimal header skipper (bench/min-skip.ts) only finds the end of the header and hands the socket on: the least any reader that consumes the header in JavaScript can cost.', '')
    const label = (id: string | undefined): string => id === undefined ? '' : id
    out.push(table(['variant', 'connections/s', 'broker CPU µs/conn', 'CPU ÷ baseline', 'baseline', 'p50 ms', 'p99 ms', 'failed'], c.variants.map(v => [
      v.label,
      spread(v.connPerSec, x => num(x)),
      spread(v.cpuPerConnUs, x => num(x, 1)),
      v.cpuRatio === undefined ? '—' : ratio(v.cpuRatio),
      label(v.baseline),
      spread(v.p50Ms, ms),
      spread(v.p99Ms, ms),
      v.failed === 0 ? '0' : `${v.failed}: ${Object.entries(v.failures).map(([k, n]) => `${k} ×${n}`).join(', ')}`
    ]), ['l', 'r', 'r', 'r', 'l', 'r', 'r', 'l']), '')
    const splits = Object.entries(c.splitDelivery)
    if (splits.length > 0) {
      out.push(`Split writes that reached the broker as a separate first read (≤ 8 bytes), checked in an extra instrumented round: ${splits.map(([id, s]) => `${id} ${s.split}/${s.connections}`).join(', ')}.`, '')
    }
    out.push('Failure probes (a fresh broker each, one connection at a time, 2 s timeout per connection):', '')
    out.push(table(['probe', 'CONNACKs', 'failures', 'broker'], c.probes.map(p => [
      p.label,
      `${p.ok}/${p.count}`,
      Object.entries(p.failures).map(([k, n]) => `${k} ×${n}`).join(', ') || '–',
      p.brokerCrashed ? `**crashed**: ${p.crash ?? ''}` : `running${p.brokerErrors !== undefined && p.brokerErrors > 0 ? `, ${p.brokerErrors} broker 'error' events (${p.brokerErrorSample ?? ''})` : ''}`
    ]), ['l', 'r', 'l', 'l']), '')
  }

  if (r.throughput !== undefined) {
    const t = r.throughput
    const cfg = m.config.throughput
    out.push(`## 4. Throughput (${cfg.reps} repetitions × ${num(cfg.messages)} QoS 0 messages per variant, ${cfg.payloadBytes}-byte payload)`, '')
    out.push(`One publisher and one subscriber (both with the header behind the plugin), ${cfg.batches} interleaved runs per variant per repetition; the publisher keeps at most ${num(cfg.window)} messages in flight, ${cfg.batch} per write. Messages/s is over the time from the first publish to the last message received.`, '')
    out.push(table(['variant', 'messages/s', 'broker CPU µs/msg', 'ratio to direct'], t.variants.map(v => [
      v.label, spread(v.msgsPerSec, x => num(x)), spread(v.cpuPerMsgUs, x => num(x, 2)), v.id === 'direct' ? '—' : `${ratio(t.ratio)} (CPU/msg ${ratio(t.cpuRatio)})`
    ])), '')
    const p = t.paired
    if (p !== undefined) {
      out.push(`Every broker in one process (bench/paired-throughput.ts): ${p.rounds} rounds over ${p.epochs} process${p.epochs === 1 ? '' : 'es'} with ${p.instances} broker instances per variant each, one run of ${num(p.messages)} messages per variant per round in a shuffled order (then reversed), each ratio taken per round against the mean of the round's two plain brokers and the 95 % interval over the (process, instance) groups, as in section 2. Broker CPU is the main thread's.`, '')
      out.push(table(['variant', 'messages/s', 'broker main thread µs/msg', 'messages/s ÷ plain', 'CPU/msg ÷ plain'], p.variants.map(v => [
        v.label, `${num(v.msgsPerSec.mean)} (±${num(v.msgsPerSec.mean - v.msgsPerSec.lo)})`, `${num(v.cpuPerMsgUs.mean, 2)} (±${num(v.cpuPerMsgUs.mean - v.cpuPerMsgUs.lo, 2)})`,
        v.id === 'plugin' ? interval(p.ratio) : v.id === 'plain-again' ? `${interval(p.selfCheck)} (against the first)` : '—',
        v.id === 'plugin' ? interval(p.cpuRatio) : v.id === 'plain-again' ? `${interval(p.cpuSelfCheck)} (against the first)` : '—'
      ])), '')
    }
  }

  if (r.idle !== undefined) {
    const i = r.idle
    out.push(`## 5. Idle sockets (${m.config.idle.reps} repetitions of ${num(i.sockets)} connections that never send a byte)`, '')
    out.push(`The plugin's \`headerTimeout\` and aedes' \`connectTimeout\` are both ${i.timeoutMs} ms here (aedes' default is 30 s). Memory is the broker's \`process.memoryUsage()\` after a full GC, before and after opening the sockets, divided by the sockets. Closing is watched for ${i.watchedMs} ms after each socket connected.`, '')
    out.push(table(['variant', 'heap+external B/socket', 'beyond bare', 'RSS B/socket', 'RSS beyond bare', 'closed by broker', 'close p50 ms', 'close max ms'], i.variants.map(v => [
      v.label,
      spread(v.heapPerSocket, x => num(x)),
      v.extraHeapVsBare === undefined ? '—' : spread(v.extraHeapVsBare, x => num(x)),
      spread(v.rssPerSocket, x => num(x)),
      v.extraRssVsBare === undefined ? '—' : spread(v.extraRssVsBare, x => num(x)),
      `${num(v.closedFraction.median * 100, 1)} %`,
      Number.isFinite(v.closeP50Ms.median) ? spread(v.closeP50Ms, x => num(x)) : 'never',
      Number.isFinite(v.closeMaxMs.median) ? spread(v.closeMaxMs, x => num(x)) : 'never'
    ])), '')
  }

  if (m.notes.length > 0) {
    out.push('## Notes', '')
    for (const n of m.notes) out.push(`- ${n}`)
    out.push('')
  }
  out.push('Reproduce: `npm run bench` (full) or `npm run bench:quick`; raw numbers in the JSON file next to this one.', '')
  return out.join('\n')
}

// ---------------------------------------------------------------- svg

interface Bar {
  readonly label: string
  readonly value: Summary
  readonly color: string
  readonly text: string
  readonly bold?: boolean
}

interface Group {
  readonly title: string
  readonly subtitle: string
  /** Drawn solid (1.0 for ratios). */
  readonly reference: number
  /** Drawn dashed, when the target differs from the reference. */
  readonly target?: number
  /** Right end of the axis at most (longer bars and whiskers are clipped, marked »). */
  readonly cap?: number
  readonly bars: readonly Bar[]
}

const COLORS: Readonly<Record<string, string>> = {
  ours: '#1f6feb',
  hand: '#6e7781',
  ppjs: '#d29922',
  balena: '#8250df',
  decoder: '#cf222e',
  plugin: '#1f6feb',
  incumbent: '#cf222e',
  baseline: '#6e7781'
}

function xmlEscape (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function groups (r: Results): Group[] {
  const out: Group[] = []
  if (r.parse !== undefined) {
    const p = r.parse
    const bars: Bar[] = []
    for (const c of p.cases) {
      for (const cand of p.candidates) {
        if (cand.id === 'hand') continue
        const s = p.ratioToHand[c.id]?.[cand.id]
        const ops = p.opsPerSec[c.id]?.[cand.id]
        const short = cand.label.replace(/ \d+\.\d+\.\d+$/, '').replace(' (ours)', '')
        if (s === undefined) {
          bars.push({ label: `${c.label} · ${short}`, value: { median: Number.NaN, min: Number.NaN, max: Number.NaN, values: [] }, color: COLORS[cand.id] ?? '#999', text: ops !== undefined && !isSummary(ops) ? 'error' : 'n/a' })
          continue
        }
        const wrong = c.id === p.cases[p.cases.length - 1]?.id && p.correctness[cand.id]?.correct === false
        const noStart = wrong && p.correctness[cand.id]?.start === null
        bars.push({
          label: `${c.label} · ${short}`,
          value: s,
          color: COLORS[cand.id] ?? '#999',
          text: `${s.median.toFixed(2)}×${isSummary(ops) ? `  ${si(ops.median)}/s` : ''}${noStart ? '  (no header length)' : wrong ? '  (wrong MQTT start)' : ''}`,
          bold: cand.id === 'ours'
        })
      }
    }
    out.push({ title: '1. Parsing: ops/s ÷ hand-written fixed-field reader', subtitle: 'higher is better · target for ours ≥ 0.8 (dashed)', reference: 1, target: 0.8, cap: 2.5, bars })
  }
  if (r.cpu !== undefined) {
    const c = r.cpu
    const bars: Bar[] = []
    for (const v of c.variants) {
      const x = v.baseline === true ? (v.id === 'plain-again' ? c.process.selfCheck.tcp : v.id === 'tls-again' ? c.process.selfCheck.tls : undefined) : c.process.ratio[v.id]
      if (x === undefined) continue
      bars.push({
        label: v.baseline === true ? `${v.label.replace(/ \(.*?\)/g, '')} ÷ the first (self-check)` : v.label.replace(/ \(.*?\)/g, '').replace(', recommended configuration', ', recommended config'),
        value: asSummary(x),
        color: v.id.startsWith('sf') ? COLORS.incumbent as string : v.baseline === true ? COLORS.baseline as string : COLORS.plugin as string,
        text: `${x.mean.toFixed(3)}× (${x.lo.toFixed(3)}–${x.hi.toFixed(3)})  ${num(c.process.perConnUs[v.id]?.mean ?? Number.NaN, 0)} µs/conn`,
        bold: v.id.includes('pp-rec')
      })
    }
    out.push({ title: '2. Broker CPU per connection ÷ plain aedes, one process', subtitle: 'lower is better · whole process, geometric mean with 95 % interval · target for the recommended configuration ≤ 1.05 (dashed)', reference: 1, target: 1.05, cap: 1.5, bars })
  }
  if (r.connections !== undefined) {
    const bars: Bar[] = r.connections.variants.filter(v => v.cpuRatio !== undefined).map(v => ({
      label: `${v.label.replace(/ \(.*?\)/g, '')} ÷ ${v.baseline ?? ''}`,
      value: v.cpuRatio as Summary,
      color: v.id.startsWith('sf') ? COLORS.incumbent as string : v.id.startsWith('plain') || v.id.includes('min') ? COLORS.baseline as string : COLORS.plugin as string,
      text: `${(v.cpuRatio as Summary).median.toFixed(3)}×  ${num(v.cpuPerConnUs.median, 0)} µs/conn`,
      bold: v.id.includes('pp')
    }))
    out.push({ title: '3. Connections: broker CPU per connection ÷ baseline, one process per variant', subtitle: 'lower is better · target for the plugin ≤ 1.03 (dashed) · grey: references, red: aedes-server-factory', reference: 1, target: 1.03, cap: 1.6, bars })
  }
  if (r.throughput !== undefined) {
    const t = r.throughput
    const plugin = t.variants.find(v => v.id === 'plugin')
    out.push({
      title: '4. Throughput: messages/s behind the plugin ÷ direct',
      subtitle: 'higher is better · target ≥ 0.99 (dashed)',
      reference: 1,
      target: 0.99,
      cap: 1.3,
      bars: [
        ...(t.paired !== undefined
          ? [{ label: 'plugin ÷ plain, every broker in one process (95 % interval)', value: asSummary(t.paired.ratio), color: COLORS.plugin as string, text: `${t.paired.ratio.mean.toFixed(3)}×`, bold: true }]
          : []),
        { label: 'plugin (v2 header) ÷ direct, one process per broker (min–max)', value: t.ratio, color: COLORS.plugin as string, text: `${t.ratio.median.toFixed(3)}×  ${plugin !== undefined ? si(plugin.msgsPerSec.median) : ''} msg/s`, bold: t.paired === undefined }
      ]
    })
  }
  if (r.idle !== undefined) {
    const bars: Bar[] = r.idle.variants.filter(v => v.extraHeapVsBare !== undefined).map(v => {
      const s = v.extraHeapVsBare as Summary
      const k = { median: s.median / KIB, min: s.min / KIB, max: s.max / KIB, values: s.values.map(x => x / KIB) }
      const close = Number.isFinite(v.closeP50Ms.median) ? `closed at ${(v.closeP50Ms.median / 1000).toFixed(2)} s` : 'never closed'
      return { label: v.label.replace(/ \(.*\)$/, ''), value: k, color: v.id === 'sf' ? COLORS.incumbent as string : v.id === 'pp' ? COLORS.plugin as string : COLORS.baseline as string, text: `${k.median.toFixed(2)} KiB  ${close}`, bold: v.id === 'pp' }
    })
    out.push({ title: '5. Idle socket: memory beyond a bare Node socket, KiB', subtitle: 'lower is better · target for the plugin ≤ 5 KiB (dashed) · heap + external after GC', reference: 0, target: 5, bars })
  }
  return out
}

export function renderSvg (r: Results): string {
  const W = 1120
  const LABEL_W = 380
  const BAR_X = LABEL_W + 10
  const BAR_W = 420
  const ROW = 20
  const GROUP_HEAD = 46
  const GAP = 18
  const gs = groups(r)
  let y = 50
  const parts: string[] = []
  parts.push(`<text x="16" y="28" font-size="17" font-weight="bold">aedes-proxy-protocol benchmarks (${r.meta.mode}, ${xmlEscape(r.meta.machine.cpuModel)} × ${r.meta.machine.nproc}, Node ${r.meta.machine.node})</text>`)
  parts.push(`<text x="16" y="44" font-size="11" fill="#57606a">medians with min–max whiskers over alternated repetitions · ${r.meta.date.slice(0, 10)}</text>`)
  for (const g of gs) {
    y += GAP
    parts.push(`<text x="16" y="${y + 16}" font-size="14" font-weight="bold">${xmlEscape(g.title)}</text>`)
    parts.push(`<text x="16" y="${y + 32}" font-size="11" fill="#57606a">${xmlEscape(g.subtitle)}</text>`)
    y += GROUP_HEAD + (g.target !== undefined ? 10 : 0)
    const finite = g.bars.flatMap(b => [b.value.max, b.value.median]).filter(Number.isFinite)
    const hi = Math.max(g.reference * 1.15, (g.target ?? 0) * 1.15, ...finite.map(x => x * 1.05))
    const xmax = Math.min(hi, g.cap ?? hi)
    const sx = (v: number): number => BAR_X + Math.max(0, Math.min(1, v / xmax)) * BAR_W
    const top = y
    g.bars.forEach((b, i) => {
      const yy = top + i * ROW
      if (i % 2 === 0) parts.push(`<rect x="10" y="${yy}" width="${W - 20}" height="${ROW}" fill="#f6f8fa"/>`)
      parts.push(`<text x="${LABEL_W}" y="${yy + 14}" font-size="11.5" text-anchor="end"${b.bold === true ? ' font-weight="bold"' : ''}>${xmlEscape(b.label)}</text>`)
      if (Number.isFinite(b.value.median)) {
        const w = sx(b.value.median) - BAR_X
        parts.push(`<rect x="${BAR_X}" y="${yy + 4}" width="${w.toFixed(1)}" height="${ROW - 8}" fill="${b.color}" opacity="0.85"/>`)
        if (Number.isFinite(b.value.min) && Number.isFinite(b.value.max)) {
          const x1 = sx(b.value.min)
          const x2 = sx(b.value.max)
          parts.push(`<line x1="${x1.toFixed(1)}" x2="${x2.toFixed(1)}" y1="${yy + ROW / 2}" y2="${yy + ROW / 2}" stroke="#24292f" stroke-width="1.2"/>`)
          parts.push(`<line x1="${x1.toFixed(1)}" x2="${x1.toFixed(1)}" y1="${yy + 6}" y2="${yy + ROW - 6}" stroke="#24292f" stroke-width="1.2"/>`)
          parts.push(`<line x1="${x2.toFixed(1)}" x2="${x2.toFixed(1)}" y1="${yy + 6}" y2="${yy + ROW - 6}" stroke="#24292f" stroke-width="1.2"/>`)
        }
        if (b.value.max > xmax) parts.push(`<text x="${BAR_X + BAR_W + 1}" y="${yy + 14}" font-size="11" fill="#57606a">»</text>`)
      }
      parts.push(`<text x="${BAR_X + BAR_W + 14}" y="${yy + 14}" font-size="11.5"${b.bold === true ? ' font-weight="bold"' : ''}>${xmlEscape(b.text)}</text>`)
    })
    const bottom = top + g.bars.length * ROW
    if (g.reference > 0) {
      const rx = sx(g.reference)
      parts.push(`<line x1="${rx.toFixed(1)}" x2="${rx.toFixed(1)}" y1="${top - 4}" y2="${bottom + 4}" stroke="#24292f" stroke-width="1.5"/>`)
      parts.push(`<text x="${rx.toFixed(1)}" y="${bottom + 16}" font-size="10.5" text-anchor="middle">${g.reference.toFixed(1)}</text>`)
    }
    if (g.target !== undefined) {
      const tx = sx(g.target)
      parts.push(`<line x1="${tx.toFixed(1)}" x2="${tx.toFixed(1)}" y1="${top - 4}" y2="${bottom + 4}" stroke="#1a7f37" stroke-width="1.5" stroke-dasharray="4 3"/>`)
      parts.push(`<text x="${tx.toFixed(1)}" y="${top - 7}" font-size="10.5" fill="#1a7f37" text-anchor="middle">target ${g.target}</text>`)
    }
    parts.push(`<text x="${BAR_X}" y="${bottom + 16}" font-size="10.5" fill="#57606a" text-anchor="middle">0</text>`)
    parts.push(`<text x="${BAR_X + BAR_W}" y="${bottom + 16}" font-size="10.5" fill="#57606a" text-anchor="middle">${xmax < 10 ? xmax.toFixed(2) : xmax.toFixed(0)}</text>`)
    y = bottom + 20
  }
  y += 16
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" fill="#24292f">`,
    `<rect width="${W}" height="${y}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    ''
  ].join('\n')
}
