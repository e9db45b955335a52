import { proxyError } from './errors.js'
import { PP2_TYPE_NOOP } from './tlv-types.js'

/** Spec 2.2: type(1) length_hi(1) length_lo(1). */
export const TLV_HEADER_LENGTH = 3
/**
 * TLVs one header may carry, NOOP padding and SSL sub-TLVs included. Real
 * senders use a handful (HAProxy at most about ten, AWS three); the bound
 * keeps a header of thousands of empty TLVs from costing a walk and a
 * record per TLV for the whole session.
 */
export const MAX_TLVS = 128

/** One TLV as received. `value` is a copy, never a view of the socket buffer. */
export interface RawTlv {
  readonly type: number
  readonly value: Buffer
}

/** What is left of a header's TLV budget, shared by the walk of the top level and of the SSL sub-TLVs. */
export interface TlvBudget { left: number }

/**
 * Walks `bytes[start, end)` as a TLV list (spec 2.2): every TLV header and
 * value must fit, and the walk must end exactly at `end`.
 */
export function walk (bytes: Uint8Array, start: number, end: number, what: string, budget: TlvBudget,
  visit: (type: number, valueStart: number, valueEnd: number) => void): void {
  let offset = start
  while (offset < end) {
    if (--budget.left < 0) throw proxyError('PROXY_ERR_TLV', `more than ${MAX_TLVS} TLVs (SSL sub-TLVs and NOOP included)`)
    if (end - offset < TLV_HEADER_LENGTH) {
      throw proxyError('PROXY_ERR_TLV', `${what} has ${end - offset} trailing byte(s) at offset ${offset}, too short for a TLV`)
    }
    const type = bytes[offset] as number
    const length = ((bytes[offset + 1] as number) << 8) | (bytes[offset + 2] as number)
    const valueStart = offset + TLV_HEADER_LENGTH
    const valueEnd = valueStart + length
    if (valueEnd > end) {
      throw proxyError('PROXY_ERR_TLV', `${what} type 0x${type.toString(16)} at offset ${offset} declares ${length} byte(s) but only ${end - valueStart} remain`)
    }
    visit(type, valueStart, valueEnd)
    offset = valueEnd
  }
}

/** Sets a decoded string field only when the value was clean text. */
export function setText<T extends object> (target: T, key: keyof T, text: string | undefined): void {
  if (text !== undefined) (target as Record<keyof T, unknown>)[key] = text
}

/**
 * Makes `target[key]` the list of the TLVs in `bytes[start, end)` (already
 * walked and validated), built when first read: a connected client keeps
 * the header's bytes, not an object and a Buffer view per TLV it may never
 * read. NOOP padding is left out of the top-level list (spec 2.2.4).
 */
export function lazyTlvs (target: object, key: 'raw' | 'tlvs', bytes: Buffer, start: number, end: number): void {
  let built: readonly RawTlv[] | undefined
  Object.defineProperty(target, key, {
    enumerable: true,
    configurable: false,
    get (): readonly RawTlv[] {
      if (built === undefined) {
        const list: RawTlv[] = []
        for (let offset = start; offset < end;) {
          const type = bytes[offset] as number
          const valueStart = offset + TLV_HEADER_LENGTH
          const valueEnd = valueStart + (((bytes[offset + 1] as number) << 8) | (bytes[offset + 2] as number))
          if (key === 'tlvs' || type !== PP2_TYPE_NOOP) list.push({ type, value: bytes.subarray(valueStart, valueEnd) })
          offset = valueEnd
        }
        built = Object.freeze(list)
      }
      return built
    }
  })
}
