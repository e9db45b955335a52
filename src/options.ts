import { z } from 'zod'
import { DEFAULT_MAX_V2_LENGTH } from './protocol/v2.js'

/** The four kinds of MQTT listener, named as TBMQ names them. */
export const LISTENER_NAMES = ['tcp', 'ssl', 'ws', 'wss'] as const
/** `tcp` (plain MQTT), `ssl` (MQTT over TLS), `ws` (WebSocket), `wss` (WebSocket over TLS). */
export type ListenerName = typeof LISTENER_NAMES[number]

/** Spec 2: a header timeout should be "at least 3 seconds to cover a TCP retransmit". */
export const DEFAULT_HEADER_TIMEOUT = 5_000
/** The smallest v2 cap that still holds a UNIX address block (spec 2.2: 216 bytes). */
const MIN_V2_LENGTH = 216

const headerTimeout = z.int().min(1, { error: 'headerTimeout is in milliseconds and must be at least 1' })
  .max(600_000, { error: 'headerTimeout must be at most 600000 ms' })
const maxV2Length = z.int().min(MIN_V2_LENGTH, { error: `maxV2Length must be at least ${MIN_V2_LENGTH} (a UNIX address block)` })
  .max(65_535, { error: 'maxV2Length must be at most 65535 (the v2 length field is 16 bits)' })

const ListenerSchema = z.strictObject({
  proxyEnabled: z.boolean().optional(),
  headerTimeout: headerTimeout.optional(),
  maxV2Length: maxV2Length.optional()
})

/** The plugin's options; every key is checked, unknown keys are errors. */
export const OptionsSchema = z.strictObject({
  proxyEnabled: z.boolean().default(false),
  headerTimeout: headerTimeout.default(DEFAULT_HEADER_TIMEOUT),
  maxV2Length: maxV2Length.default(DEFAULT_MAX_V2_LENGTH),
  listeners: z.strictObject({
    tcp: ListenerSchema.optional(),
    ssl: ListenerSchema.optional(),
    ws: ListenerSchema.optional(),
    wss: ListenerSchema.optional()
  }).default({})
})

/**
 * What `proxyProtocol()` accepts. Per-listener settings that are left unset
 * inherit the global ones (TBMQ's `listener.{tcp,ssl,ws,wss}.proxy_enabled`).
 */
export interface ProxyProtocolOptions {
  /**
   * Global switch. When true, every connection on a listener that does not
   * override it must start with a v1 or v2 header.
   * @defaultValue false
   */
  proxyEnabled?: boolean | undefined
  /**
   * Milliseconds to wait for a complete header before closing the connection.
   * @defaultValue 5000
   */
  headerTimeout?: number | undefined
  /**
   * Largest v2 header length field accepted (bytes after the 16-byte prefix).
   * @defaultValue 4096
   */
  maxV2Length?: number | undefined
  /** Per-listener overrides; an unset field inherits the global value. */
  listeners?: {
    [K in ListenerName]?: ListenerOptions | undefined
  } | undefined
}

/** Settings that one listener may override. Unset means inherit. */
export interface ListenerOptions {
  proxyEnabled?: boolean | undefined
  headerTimeout?: number | undefined
  maxV2Length?: number | undefined
}

/** The settings in force on one listener after inheritance. */
export interface ListenerSettings {
  readonly proxyEnabled: boolean
  readonly headerTimeout: number
  readonly maxV2Length: number
}

/** Options after validation and defaults. */
export type ResolvedOptions = Readonly<Record<ListenerName, ListenerSettings>>

// Compile-time check that the hand-written input type and the schema agree,
// so zod's types stay out of the published declarations.
type SchemaInput = z.input<typeof OptionsSchema>
const _inputMatches: (x: ProxyProtocolOptions) => SchemaInput = x => x
const _schemaMatches: (x: SchemaInput) => ProxyProtocolOptions = x => x
void _inputMatches
void _schemaMatches

/** Invalid options, thrown before anything listens. */
export class OptionsError extends Error {
  override readonly name = 'OptionsError'
  readonly code = 'PROXY_ERR_OPTIONS'
  /** One entry per problem: where (`path`) and what (`message`). */
  readonly issues: ReadonlyArray<{ readonly path: string, readonly message: string }>

  constructor (message: string, issues: ReadonlyArray<{ readonly path: string, readonly message: string }>) {
    super(message)
    this.issues = issues
  }
}

/**
 * Validates options and works out each listener's settings.
 * @throws OptionsError naming every bad key.
 */
export function resolveOptions (input: unknown = {}): ResolvedOptions {
  const result = OptionsSchema.safeParse(input)
  if (!result.success) {
    const issues = result.error.issues.map(issue => ({
      path: issue.path.map(String).join('.') || '(options)',
      message: issue.message
    }))
    throw new OptionsError(`aedes-proxy-protocol: invalid options:\n${z.prettifyError(result.error)}`, issues)
  }
  const o = result.data
  const resolve = (name: ListenerName): ListenerSettings => {
    const own = o.listeners[name] ?? {}
    return Object.freeze({
      proxyEnabled: own.proxyEnabled ?? o.proxyEnabled,
      headerTimeout: own.headerTimeout ?? o.headerTimeout,
      maxV2Length: own.maxV2Length ?? o.maxV2Length
    })
  }
  return Object.freeze({ tcp: resolve('tcp'), ssl: resolve('ssl'), ws: resolve('ws'), wss: resolve('wss') })
}
