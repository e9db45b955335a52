// What a refused client hears, byte for byte, on each aedes version the
// library supports (0.51, 1.x, 2.x) and each protocol version (MQTT 3.1.1
// and 5), for each way the operator plugins and the broker's authenticate
// refuse a CONNECT. A raw socket from 127.0.0.9 sends a PROXY v2 header
// naming a documentation address as the client, then a CONNECT made by
// mqtt-packet; everything the broker sends until it closes is parsed with
// mqtt-packet's parser, so a second CONNACK (or anything else) would show.
// aedes 0.51 and 1.x speak no MQTT 5: they answer any v5 CONNECT with a
// 3.1.1 CONNACK, return code 1. aedes 2 maps authenticate's return codes 2-5
// to 0x85-0x88; the plugin writes 0x8A (Banned) and 0x9F (Connection rate
// exceeded) itself. docs/api.md's table ("What a refused client hears") is
// checked against EXPECTED.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import mqttPacket, { type Packet } from 'mqtt-packet'
import type { Client } from 'aedes'
import { startStack, type Stack, type StackOptions } from '../helpers/stack.js'
import { encodeV2 } from '../helpers/encode.js'
import { AEDES_VERSIONS, installedAedes, type AedesVersion } from '../helpers/aedes-versions.js'
import { until } from '../helpers/wait.js'

type Refusal = 'denied' | 'not allowed' | 'rate limited' | 'policy store down' | 'not authorized' | 'bad password'
const REFUSALS: readonly Refusal[] =
  ['denied', 'not allowed', 'rate limited', 'policy store down', 'not authorized', 'bad password']

/** The CONNACK each refusal gets, as bytes in hex, by aedes version and protocol version. */
const EXPECTED: Record<AedesVersion, Record<'3.1.1' | '5', Record<Refusal, string>>> = (() => {
  const v311 = { 'bad password': '20020004' }
  const old = (): Record<'3.1.1' | '5', Record<Refusal, string>> => ({
    '3.1.1': table('20020005', v311),
    5: table('20020001', {})
  })
  return {
    0.51: old(),
    1: old(),
    2: {
      '3.1.1': table('20020005', v311),
      5: table('', {
        denied: '2003008a00',
        'not allowed': '2003008a00',
        'rate limited': '2003009f00',
        'policy store down': '2003008800',
        'not authorized': '2003008700',
        'bad password': '2003008600'
      })
    }
  }
})()

/** The error fields aedes sets on a refusal's error: errorCode (the 3.1.1 return code) and reasonCode. */
interface Codes { errorCode?: number, reasonCode?: number }

/**
 * What the refusal whose CONNACK is `hex` leaves on its error event: errorCode, the 3.1.1 return code
 * (aedes 2's for an MQTT 5 reason code: 5 for the plugin's own 0x8A and 0x9F); reasonCode, the plugin's
 * own v5 reason code (aedes sets none on the refusals it writes); the client's connackSent.
 */
function told311 (hex: string): [number | undefined, number | undefined, boolean | undefined] {
  if (hex.length === 8) return [parseInt(hex.slice(6), 16), undefined, true]
  const reason = parseInt(hex.slice(6, 8), 16)
  const aedes2: Record<number, number> = { 0x85: 2, 0x88: 3, 0x86: 4, 0x87: 5 }
  return [aedes2[reason] ?? 5, aedes2[reason] === undefined ? reason : undefined, true]
}

function table (all: string, some: Partial<Record<Refusal, string>>): Record<Refusal, string> {
  return Object.fromEntries(REFUSALS.map(r => [r, some[r] ?? all])) as Record<Refusal, string>
}

/** The documentation address each refusal's client comes from (inside the PROXY header only). */
const SOURCE: Record<Refusal, string> = {
  denied: '203.0.113.1',
  'not allowed': '198.51.100.1',
  'rate limited': '203.0.113.3',
  'policy store down': '203.0.113.4',
  'not authorized': '203.0.113.5',
  'bad password': '203.0.113.6'
}
const ALLOWED = '203.0.113.7'

export interface Heard {
  /** every packet the broker sent, parsed */
  readonly packets: Packet[]
  /** the bytes, in hex */
  readonly hex: string
}

/** A PROXY v2 header naming `source` as the client, then a CONNECT of `protocolVersion`. */
function proxiedConnect (source: string, protocolVersion: 4 | 5, username?: string, clientId?: string): Buffer {
  const header = encodeV2({
    source: { address: source, port: 40000 }, destination: { address: '192.0.2.1', port: 1883 }
  })
  const connect = mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion,
    clean: true,
    clientId: clientId ?? `raw-${source}-${Math.random().toString(16).slice(2)}`,
    keepalive: 0,
    ...(username === undefined ? {} : { username, password: Buffer.from('pw') })
  })
  return Buffer.concat([header, connect])
}

/** How long exchange() waits for the broker to close the connection (or `until`) before it fails. */
const EXCHANGE_MS = 10_000

/**
 * A CONNECT of `protocolVersion` from `source` (in a PROXY v2 header), then
 * `more` packets: what the broker sends until it closes the connection or
 * `until` is satisfied (then this side closes). Rejects after
 * EXCHANGE_MS when neither happens (a broker that never answers or never
 * closes fails the test instead of hanging the suite).
 */
async function exchange (port: number, source: string, protocolVersion: 4 | 5, options: {
  username?: string | undefined, more?: readonly Buffer[], until?: (packets: readonly Packet[]) => boolean
} = {}): Promise<Heard> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.9' })
  socket.on('error', () => {})
  const parser = mqttPacket.parser({ protocolVersion })
  const packets: Packet[] = []
  const bytes: Buffer[] = []
  parser.on('packet', p => packets.push(p))
  parser.on('error', (err: Error) => { throw err })
  let timer: NodeJS.Timeout | undefined
  const done = new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`exchange from ${source}: the broker neither closed the connection nor sent what was ` +
        `awaited within ${EXCHANGE_MS} ms (heard: ${packets.map(p => p.cmd).join(', ') || 'nothing'})`))
    }, EXCHANGE_MS)
    socket.on('data', d => {
      bytes.push(d)
      parser.parse(d)
      if (options.until?.(packets) === true) resolve()
    })
    socket.once('close', () => resolve())
  })
  try {
    await once(socket, 'connect')
    socket.write(Buffer.concat([proxiedConnect(source, protocolVersion, options.username), ...(options.more ?? [])]))
    await done
  } finally {
    clearTimeout(timer)
    socket.destroy()
  }
  return { packets, hex: Buffer.concat(bytes).toString('hex') }
}

/** One broker per aedes version with every refusal the plugins make; the rate limit admits one attempt. */
async function refusingStack (aedes: AedesVersion, storeDown: boolean): Promise<Stack> {
  const options: StackOptions = {
    aedes,
    listener: 'tcp',
    plugin: { listeners: { tcp: { proxyEnabled: true } } },
    ipPolicy: {
      deny: [SOURCE.denied],
      allow: ['203.0.113.0/24'],
      rateLimit: { perSecond: 0.000001, burst: 1 },
      ...(storeDown ? { store: { consume () { throw new Error('store down') } } } : {})
    },
    authenticate: (_client, username) => username === undefined ||
      (username === 'bad' ? Object.assign(new Error('bad user name or password'), { returnCode: 4 as const }) : false)
  }
  return await startStack(options)
}

for (const aedes of AEDES_VERSIONS) {
  describe(`aedes ${installedAedes(aedes)}: what a refused client hears`, () => {
    for (const protocolVersion of [4, 5] as const) {
      const protocol = protocolVersion === 4 ? '3.1.1' : '5'
      test(`MQTT ${protocol}: one CONNACK per refusal, as in docs/api.md, then the connection ends; ` +
        'an allowed client is still served', async (t) => {
        const s = await refusingStack(aedes, false)
        t.after(() => s.close())
        const down = await refusingStack(aedes, true)
        t.after(() => down.close())
        // aedes tells of each refused connection once (clientError, or connectionError before it has an id),
        // its error with errorCode (the 3.1.1 return code) and, on the plugin's own v5 CONNACKs, reasonCode;
        // the client's connackSent set. The same on both stacks.
        let told = 0
        const errors: Array<[number | undefined, number | undefined, boolean | undefined]> = []
        // and reports each CONNACK that went out once ('connackSent'), the plugin's own included.
        let connacks = 0
        for (const broker of [s.broker, down.broker]) {
          for (const event of ['clientError', 'connectionError'] as const) {
            broker.on(event, (client: Client & { connackSent?: boolean }, err: Error & Codes) => {
              told++
              errors.push([err.errorCode, err.reasonCode, client.connackSent])
            })
          }
          broker.on('connackSent', () => { connacks++ })
        }
        // The rate-limited address spends its one attempt first (accepted, then this side closes;
        // an aedes that speaks no MQTT 5 refuses it too).
        const first = await exchange(s.port, SOURCE['rate limited'], protocolVersion, { until: p => p.length > 0 })
        const speaks = aedes === '2' || protocolVersion === 4
        const code = (p: Packet): number | undefined =>
          (p as { returnCode?: number }).returnCode ?? (p as { reasonCode?: number }).reasonCode
        assert.deepEqual(first.packets.map(p => [p.cmd, code(p)]), [['connack', speaks ? 0 : 1]])
        const heard: Record<string, string> = {}
        for (const refusal of REFUSALS) {
          const port = refusal === 'policy store down' ? down.port : s.port
          const username = refusal === 'not authorized' ? 'someone' : refusal === 'bad password' ? 'bad' : undefined
          const h = await exchange(port, SOURCE[refusal], protocolVersion, { username })
          assert.deepEqual(h.packets.map(p => p.cmd), ['connack'], `${refusal}: exactly one packet, a CONNACK`)
          heard[refusal] = h.hex
        }
        assert.deepEqual(heard, EXPECTED[aedes][protocol])
        assert.equal(told, REFUSALS.length + (speaks ? 0 : 1), 'one error event per refused connection')
        // (an aedes that speaks no MQTT 5 refused the first exchange too)
        assert.deepEqual(errors,
          [...(speaks ? [] : ['20020001']), ...REFUSALS.map(r => EXPECTED[aedes][protocol][r])].map(told311))
        // The broker still serves an allowed client (in MQTT 3.1.1 on an aedes that speaks no MQTT 5).
        const ok = await exchange(s.port, ALLOWED, speaks ? protocolVersion : 4, {
          more: [mqttPacket.generate({ cmd: 'pingreq' })],
          until: packets => packets.some(p => p.cmd === 'pingresp')
        })
        assert.deepEqual(ok.packets.map(p => p.cmd), ['connack', 'pingresp'])
        assert.equal(connacks, 1 + REFUSALS.length + 1, 'connackSent: the first, each refusal, the last')
      })
    }
  })
}

test('docs/api.md\'s table of what a refused client hears is what this file reads off the wire', () => {
  const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8').split('\n')
  const head = doc.findIndex(l => l.startsWith('| refusal | aedes 0.51.x, 1.x: MQTT 3.1.1 |'))
  assert.ok(head !== -1, 'docs/api.md has the table')
  const rows = doc.slice(head + 2).filter((l, i, all) => all.slice(0, i + 1).every(r => r.startsWith('|')))
  // A CONNACK's code as the table writes it: the 3.1.1 return code, or the MQTT 5 reason code in hex.
  const written = (hex: string): string => hex.length === 8
    ? String(parseInt(hex.slice(6), 16))
    : `0x${hex.slice(6, 8).toUpperCase()}`
  const columns: ReadonlyArray<readonly [readonly AedesVersion[], '3.1.1' | '5']> =
    [[['0.51', '1'], '3.1.1'], [['0.51', '1'], '5'], [['2'], '3.1.1'], [['2'], '5']]
  assert.deepEqual(rows.map(r => r.split('|').slice(2, 6).map(c => c.trim().split(' ')[0])),
    REFUSALS.map(refusal => columns.map(([versions, protocol]) => {
      const codes = new Set(versions.map(v => written(EXPECTED[v][protocol][refusal])))
      assert.equal(codes.size, 1, `${refusal}, MQTT ${protocol}: the same code on ${versions.join(' and ')}`)
      return [...codes][0]
    })))
})

/**
 * An aedes 2 stack whose rate-limit store holds its first answer until `answer` is called (later ones
 * admit), and an MQTT 5 client `clientId` from the rate-limited address whose CONNECT the store is
 * asked about; every error event's message, and the bytes the client hears.
 */
async function slowStore (t: { after: (fn: () => void | Promise<void>) => void }, clientId: string): Promise<{
  s: Stack, socket: net.Socket, answer: (ok: boolean) => void, errors: string[], bytes: Buffer[]
}> {
  let answer: ((ok: boolean) => void) | undefined
  const s = await startStack({
    aedes: '2',
    listener: 'tcp',
    plugin: { listeners: { tcp: { proxyEnabled: true } } },
    ipPolicy: {
      rateLimit: { perSecond: 1, burst: 1 },
      store: { consume: () => answer === undefined ? new Promise<boolean>(resolve => { answer = resolve }) : true }
    }
  })
  t.after(() => s.close())
  const errors: string[] = []
  s.broker.on('clientError', (_c, err) => errors.push(err.message))
  s.broker.on('connectionError', (_c, err) => errors.push(err.message))
  const socket = net.connect({ port: s.port, host: '127.0.0.1', localAddress: '127.0.0.9' })
  socket.on('error', () => {})
  const bytes: Buffer[] = []
  socket.on('data', d => bytes.push(d))
  t.after(() => { socket.destroy() })
  await once(socket, 'connect')
  socket.write(proxiedConnect(SOURCE['rate limited'], 5, undefined, clientId))
  await until(() => answer !== undefined, 5000, 'the store asked')
  return { s, socket, answer: ok => answer?.(ok), errors, bytes }
}

test('aedes 2, MQTT 5: a client gone before a slow rate-limit store refuses it gets nothing written and ' +
  'raises no error; the broker still serves the next', async (t) => {
  const { s, socket, answer, errors } = await slowStore(t, 'gone')
  socket.destroy()
  await until(async () => await new Promise<number>(resolve => s.server.getConnections((_e, n) => resolve(n))) === 0,
    5000, 'the broker saw the client go')
  answer(false)
  const ok = await exchange(s.port, ALLOWED, 5, {
    more: [mqttPacket.generate({ cmd: 'pingreq' })],
    until: packets => packets.some(p => p.cmd === 'pingresp')
  })
  assert.deepEqual(ok.packets.map(p => p.cmd), ['connack', 'pingresp'])
  assert.deepEqual(errors, [])
  assert.deepEqual((await s.unauthorized.list()).map(e => [e.clientId, e.reason]), [['gone', 'rate-limited']])
})

test('aedes 2, MQTT 5: a slow rate-limit store that refuses a client after broker.close() gets it nothing ' +
  'written and raises no error', async (t) => {
  const { s, socket, answer, errors, bytes } = await slowStore(t, 'closing')
  let connacks = 0
  s.broker.on('connackSent', () => { connacks++ })
  const closed = once(socket, 'close')
  await new Promise<void>(resolve => s.broker.close(() => resolve()))
  answer(false)
  // The refusal is decided once the unauthorized list has it; anything written by then reaches this
  // side before the broker's end of the connection, which follows this side's.
  await until(async () => (await s.unauthorized.list()).length === 1, 5000, 'the refusal decided')
  socket.end()
  await closed
  assert.equal(Buffer.concat(bytes).toString('hex'), '')
  assert.deepEqual(errors, [])
  assert.equal(connacks, 0)
})
