import type { z } from 'zod'
import { PREFIX } from './protocol/errors.js'

export { PREFIX }

/** One problem with the options: where (`path`, like `listeners.tcp.headerTimeout`) and what. */
export interface OptionsIssue {
  readonly path: string
  readonly message: string
}

/** Invalid options, thrown before anything listens. */
export class OptionsError extends Error {
  override readonly name = 'OptionsError'
  readonly code = 'PROXY_ERR_OPTIONS'
  /** One entry per problem. */
  readonly issues: readonly OptionsIssue[]

  constructor (message: string, issues: readonly OptionsIssue[]) {
    super(message.startsWith(PREFIX) ? message : `${PREFIX}${message}`)
    this.issues = issues
  }

  /** An error listing `issues`, one per line. */
  static of (what: string, issues: readonly OptionsIssue[]): OptionsError {
    const lines = issues.map(i => `  ${i.path}: ${i.message}`)
    return new OptionsError(`invalid ${what}:\n${lines.join('\n')}`, issues)
  }
}

/** The package used the wrong way (a server that is not one, a plugin installed twice). */
export class UsageError extends TypeError {
  override readonly name = 'UsageError'
  readonly code = 'PROXY_ERR_USAGE'

  constructor (message: string) {
    super(`${PREFIX}${message}`)
  }
}

/** A value as an operator wrote it, short enough for one line. */
export function show (value: unknown): string {
  if (value === undefined) return 'nothing'
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || typeof value === 'bigint') {
    return String(value)
  }
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'function') return 'a function'
  return 'an object'
}

/** Damerau-Levenshtein distance, for "did you mean". */
function distance (a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      const row = d[i] as number[]
      const prev = d[i - 1] as number[]
      let v = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, ((d[i - 2] as number[])[j - 2] as number) + 1)
      }
      row[j] = v
    }
  }
  return (d[a.length] as number[])[b.length] as number
}

/** The known key closest to `key`, when it is close enough to be a typo. */
export function nearest (key: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const a = key.toLowerCase()
    const b = candidate.toLowerCase()
    // The same word in another case, or one starting with the other (`denyList`, `deny`).
    const d = a === b
      ? 0
      : Math.min(a.length, b.length) >= 4 && (a.startsWith(b) || b.startsWith(a)) ? 1 : distance(key, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 4)) ? best : undefined
}

const EXPECTED: Readonly<Record<string, string>> = {
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  string: 'a string',
  array: 'a list',
  object: 'an object'
}

function valueAt (input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return value
}

function pathText (path: readonly PropertyKey[]): string {
  let text = ''
  for (const key of path) text += typeof key === 'number' ? `[${key}]` : text === '' ? String(key) : `.${String(key)}`
  return text
}

/** zod's own wording, which a schema that says something better replaces. */
const ZOD_DEFAULT = /^(Invalid|Too (small|big)|Unrecognized|expected )/

/** What zod keeps of a schema, as far as finding the keys of an object at a path needs. */
interface SchemaNode {
  readonly _zod: {
    readonly def: { readonly innerType?: SchemaNode, readonly shape?: Readonly<Record<string, SchemaNode>> }
  }
}

/** The keys the object schema at `path` knows, through optional and default wrappers. */
export function keysAt (schema: unknown, path: readonly PropertyKey[]): string[] {
  let node = schema as SchemaNode | undefined
  const unwrap = (): void => { while (node?._zod.def.innerType !== undefined) node = node._zod.def.innerType }
  unwrap()
  for (const key of path) {
    node = typeof key === 'string' ? node?._zod.def.shape?.[key] : undefined
    unwrap()
  }
  return Object.keys(node?._zod.def.shape ?? {})
}

/** Says more about an unknown key than "did you mean" can (a key that lives elsewhere), or nothing. */
export type ExplainKey = (path: readonly string[], key: string) => string | undefined

/**
 * Validates `input` with `schema`, or throws an OptionsError in plain words:
 * each issue names its path (`listeners.tcp.headerTimeout`, `trustedProxies[1]`),
 * echoes the value given, and an unknown key gets "did you mean" when a key
 * known at that level is close, or what `explain` says about it.
 */
export function parseOptions<S extends z.ZodType> (schema: S, input: unknown, what: string,
  explain?: ExplainKey): z.output<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const issues: OptionsIssue[] = []
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = keysAt(schema, issue.path)
      for (const key of issue.keys) {
        const said = explain?.(issue.path.map(String), key)
        const near = said === undefined ? nearest(key, known) : undefined
        issues.push({
          path: pathText([...issue.path, key]),
          message: said !== undefined
            ? `is not an option here: ${said}`
            : near !== undefined
              ? `is not an option: did you mean \`${near}\`?`
              : `is not an option (known here: ${known.join(', ')})`
        })
      }
      continue
    }
    const given = valueAt(input, issue.path)
    let message = issue.message
    if (ZOD_DEFAULT.test(message)) {
      if (issue.code === 'invalid_type') message = `must be ${EXPECTED[issue.expected] ?? issue.expected}`
      else if (issue.code === 'too_small') message = `must be at least ${String(issue.minimum)}`
      else if (issue.code === 'too_big') message = `must be at most ${String(issue.maximum)}`
      else message = 'is not valid here'
    }
    issues.push({ path: pathText(issue.path) || '(options)', message: `${message} (got ${show(given)})` })
  }
  throw OptionsError.of(what, issues)
}
