// The parsers compared in the parsing benchmark, each behind the same small
// adapter: `run` (the timed call: parse, then read the source address and
// port and the header length when the parser reports one, so no candidate's
// work can be optimised away), and `inspect` (what it made of the bytes).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { ROOT_DIR } from './children.js'
import { loadPlugin } from './plugin.js'
import { readFixed } from './hand-reader.js'

const require = createRequire(import.meta.url)

/** The installed version of a package, for labels. */
export function packageVersion (name: string): string {
  try {
    const text = readFileSync(join(ROOT_DIR, 'node_modules', name, 'package.json'), 'utf8')
    return (JSON.parse(text) as { version: string }).version
  } catch {
    return '?'
  }
}

/** What a candidate made of one buffer. */
export interface Outcome {
  /** Offset where the candidate says the MQTT bytes start; null when it does not say. */
  readonly start: number | null
  readonly source: string | null,
  readonly sourcePort: number | null
  /** TLVs the candidate decoded, or why none; the exception it threw, if any. */
  readonly tlvs: string,
  readonly error?: string
}

export interface Candidate {
  readonly id: string,
  readonly label: string
  /** How it is called. */
  readonly note: string
  /** The timed call: returns a number derived from the result. */
  run (buf: Buffer): number
  inspect (buf: Buffer): Outcome
}

const LIMITS = { maxV2Length: 4096 } as const

async function oursCandidate (): Promise<Candidate> {
  const { parseHeader } = await loadPlugin()
  return {
    id: 'ours',
    label: 'aedes-proxy-protocol',
    note: 'parseHeader(buf, { maxV2Length: 4096 }): validates every field, decodes TLVs',
    run (buf) {
      const r = parseHeader(buf, LIMITS)
      if (r.status !== 'complete' || !r.header.proxied) return -1
      return r.length + r.header.source.port + r.header.source.address.length
    },
    inspect (buf) {
      const r = parseHeader(buf, LIMITS)
      if (r.status !== 'complete') return { start: null, source: null, sourcePort: null, tlvs: r.status }
      const t = r.header.tlvs
      const fields = t as unknown as Record<string, unknown>
      const names = Object.keys(t).filter(k => k !== 'raw' && fields[k] !== undefined)
      const ssl = t.ssl
      const describe = (n: string): string => n === 'ssl' && ssl !== undefined
        ? `ssl(cn=${ssl.cn ?? '-'}, ${ssl.version ?? '-'})`
        : n === 'awsVpceId' ? `awsVpceId=${t.awsVpceId ?? ''}` : n
      const tlvs = names.length === 0 ? 'none' : names.map(describe).join(', ')
      return {
        start: r.length,
        source: r.header.proxied ? r.header.source.address : null,
        sourcePort: r.header.proxied ? r.header.source.port : null,
        tlvs
      }
    }
  }
}

/**
 * The same parse, then the TLVs read as an application reads them (what
 * this plugin's own clientAddress and sslCnAsUsername do): every decoded
 * field and the raw list, so the decoding deferred to the first read is
 * timed too.
 */
async function oursReadCandidate (): Promise<Candidate> {
  const ours = await oursCandidate()
  const { parseHeader } = await loadPlugin()
  return {
    ...ours,
    id: 'ours-read',
    label: 'aedes-proxy-protocol, TLVs read',
    note: 'parseHeader(buf, { maxV2Length: 4096 }), then every decoded TLV field and the raw list read ' +
      '(decoded on first read)',
    run (buf) {
      const r = parseHeader(buf, LIMITS)
      if (r.status !== 'complete' || !r.header.proxied) return -1
      const t = r.header.tlvs
      return r.length + r.header.source.port + r.header.source.address.length + t.raw.length +
        (t.alpn?.length ?? 0) + (t.authority?.length ?? 0) + (t.uniqueId?.length ?? 0) + (t.ssl?.cn?.length ?? 0) +
        (t.ssl?.version?.length ?? 0) + (t.ssl?.tlvs.length ?? 0) + (t.awsVpceId?.length ?? 0) + (t.crc32c ?? 0)
    }
  }
}

const hand: Candidate = {
  id: 'hand',
  label: 'hand-written fixed-field reader',
  note: 'bench/hand-reader.ts: fixed fields only, no validation, TLVs skipped by length',
  run (buf) {
    const r = readFixed(buf)
    if (r === undefined) return -1
    return r.length + r.sourcePort + r.sourceAddress.length
  },
  inspect (buf) {
    const r = readFixed(buf)
    if (r === undefined) return { start: null, source: null, sourcePort: null, tlvs: 'n/a' }
    return { start: r.length, source: r.sourceAddress, sourcePort: r.sourcePort, tlvs: 'skipped (not decoded)' }
  }
}

interface PpjsPeer { readonly ipAddress: string, readonly port: number }
interface PpjsV1 { readonly source: PpjsPeer, readonly data?: Uint8Array }
interface PpjsAddress { readonly sourceAddress?: { readonly address: readonly number[] }, readonly sourcePort?: number }
interface PpjsV2 { readonly proxyAddress: PpjsAddress, readonly data?: Uint8Array }
interface Ppjs {
  V1BinaryProxyProtocol: { parse (input: Uint8Array): PpjsV1 }
  V2ProxyProtocol: { parse (input: Uint8Array): PpjsV2 }
}

function ppjsCandidate (): Candidate {
  const ppjs = require('proxy-protocol-js') as Ppjs
  const start = (data: Uint8Array | undefined, buf: Buffer): number | null =>
    data === undefined ? null : buf.length - data.length
  return {
    id: 'ppjs',
    label: `proxy-protocol-js ${packageVersion('proxy-protocol-js')}`,
    note: 'V1BinaryProxyProtocol.parse / V2ProxyProtocol.parse (by first byte); v2 addresses come back as byte arrays',
    run (buf) {
      if (buf[0] === 0x0d) {
        const r = ppjs.V2ProxyProtocol.parse(buf)
        const a = r.proxyAddress
        return (r.data?.length ?? 0) + (a.sourcePort ?? 0) + (a.sourceAddress?.address.length ?? 0)
      }
      const r = ppjs.V1BinaryProxyProtocol.parse(buf)
      return (r.data?.length ?? 0) + r.source.port + r.source.ipAddress.length
    },
    inspect (buf) {
      const tlvs = 'not parsed (returned as payload)'
      if (buf[0] !== 0x0d) {
        const r = ppjs.V1BinaryProxyProtocol.parse(buf)
        return { start: start(r.data, buf), source: r.source.ipAddress, sourcePort: r.source.port, tlvs }
      }
      const r = ppjs.V2ProxyProtocol.parse(buf)
      const bytes = r.proxyAddress.sourceAddress?.address
      const source = bytes === undefined ? null : bytes.length === 4 ? bytes.join('.') : `[${bytes.length} bytes]`
      return { start: start(r.data, buf), source, sourcePort: r.proxyAddress.sourcePort ?? null, tlvs }
    }
  }
}

interface Balena { decode (buf: Buffer, validate?: boolean): { remoteAddress?: string, remotePort?: number } | null }

function balenaCandidate (): Candidate {
  const balena = require('@balena/proxy-protocol-parser') as Balena
  return {
    id: 'balena',
    label: `@balena/proxy-protocol-parser ${packageVersion('@balena/proxy-protocol-parser')}`,
    note: 'decode(buf, true) (validation on); reports no header length',
    run (buf) {
      const r = balena.decode(buf, true)
      if (r === null) return -1
      return (r.remotePort ?? 0) + (r.remoteAddress?.length ?? 0)
    },
    inspect (buf) {
      const r = balena.decode(buf, true)
      return { start: null, source: r?.remoteAddress ?? null, sourcePort: r?.remotePort ?? null, tlvs: 'not parsed' }
    }
  }
}

interface Decoded { ipAddress?: string, port?: number, data?: Buffer }
interface Decoder { protocolDecoder (conn: object, buffer: Buffer, req?: unknown): Decoded }

function decoderCandidate (): Candidate {
  const decoder = require('aedes-protocol-decoder') as Decoder
  // What it reads of the connection when the header has an address: nothing
  // but a TLS check, so an empty object stands in for the socket.
  const conn = {}
  return {
    id: 'decoder',
    label: `aedes-protocol-decoder ${packageVersion('aedes-protocol-decoder')}`,
    note: 'protocolDecoder(conn, buf) as aedes-server-factory calls it with trustProxy',
    run (buf) {
      const r = decoder.protocolDecoder(conn, buf)
      return (r.data?.length ?? 0) + (r.port ?? 0) + (r.ipAddress?.length ?? 0)
    },
    inspect (buf) {
      const r = decoder.protocolDecoder(conn, buf)
      return {
        start: r.data === undefined ? null : buf.length - r.data.length,
        source: r.ipAddress ?? null,
        sourcePort: r.port ?? null,
        tlvs: 'not parsed (passed to the MQTT parser)'
      }
    }
  }
}

/** Every candidate, by id; loading one can fail (recorded, not dropped). */
export const CANDIDATES: Readonly<Record<string, () => Candidate | Promise<Candidate>>> = {
  ours: oursCandidate,
  'ours-read': oursReadCandidate,
  hand: () => hand,
  ppjs: ppjsCandidate,
  balena: balenaCandidate,
  decoder: decoderCandidate
}

export const CANDIDATE_IDS = ['ours', 'ours-read', 'hand', 'ppjs', 'balena', 'decoder'] as const

/** Runs `inspect`, turning an exception into an outcome. */
export function safeInspect (candidate: Candidate, buf: Buffer): Outcome {
  try {
    return candidate.inspect(buf)
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err)
    return { start: null, source: null, sourcePort: null, tlvs: '-', error }
  }
}
