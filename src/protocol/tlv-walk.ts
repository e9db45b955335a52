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

/**
 * Checks the TLV at `offset` of `bytes[.., end)` (spec 2.2): its header and
 * value must fit. Returns where its value ends; `budget` is what is left of
 * the header's TLV budget before it, shared by the top level and the SSL
 * sub-TLVs.
 */
export function tlvEnd (bytes: Uint8Array, offset: number, end: number, what: string, budget: number): number {
  if (budget <= 0) throw proxyError('PROXY_ERR_TLV', `more than ${MAX_TLVS} TLVs (SSL sub-TLVs and NOOP included)`)
  if (end - offset < TLV_HEADER_LENGTH) {
    throw proxyError('PROXY_ERR_TLV', `${what} has ${end - offset} trailing byte(s) at offset ${offset}, too short for a TLV`)
  }
  const length = ((bytes[offset + 1] as number) << 8) | (bytes[offset + 2] as number)
  const valueEnd = offset + TLV_HEADER_LENGTH + length
  if (valueEnd > end) {
    throw proxyError('PROXY_ERR_TLV', `${what} type 0x${(bytes[offset] as number).toString(16)} at offset ${offset} declares ${length} byte(s) but only ${end - offset - TLV_HEADER_LENGTH} remain`)
  }
  return valueEnd
}

/**
 * Base of {@link Slot}: returns the object it is given, so `Slot`'s private
 * fields are put on that object (a plain object stays plain: same
 * prototype, same keys, nothing enumerable or visible to JSON, structured
 * clone or deep equality).
 */
// eslint-disable-next-line @typescript-eslint/no-extraneous-class -- a constructor that returns its argument is the whole point
class Target {
  constructor (target: object) {
    return target
  }
}

/**
 * What a lazily built property of a header object is built from, kept in a
 * private field of the object itself: one shared getter then serves every
 * object (a getter closed over its own state per object would give every
 * object its own hidden class, which costs far more than the value).
 */
export class Slot extends Target {
  #make: (() => unknown) | undefined
  #value: unknown

  private constructor (target: object, make: () => unknown) {
    super(target)
    this.#make = make
  }

  /**
   * Defines `target[key]` as an enumerable, non-configurable property whose
   * value is `make()`, called once, when first read.
   */
  static define (target: object, key: string, make: () => unknown): void {
    // eslint-disable-next-line no-new -- the constructor writes the fields onto `target`
    new Slot(target, make)
    Object.defineProperty(target, key, { enumerable: true, configurable: false, get: readSlot })
  }

  /** The value of `target`'s slot, built on the first call. */
  static read (target: Slot): unknown {
    const make = target.#make
    if (make !== undefined) {
      target.#value = make()
      target.#make = undefined
    }
    return target.#value
  }
}

function readSlot (this: Slot): unknown {
  return Slot.read(this)
}

/**
 * Makes `target[key]` the list of the TLVs in `bytes[start, end)` (already
 * walked and validated), built when first read: a connected client keeps
 * the header's bytes, not an object and a Buffer view per TLV it may never
 * read. NOOP padding is left out of the top-level list (spec 2.2.4).
 */
export function lazyTlvs (target: object, key: 'raw' | 'tlvs', bytes: Buffer, start: number, end: number): void {
  Slot.define(target, key, () => {
    const list: RawTlv[] = []
    for (let offset = start; offset < end;) {
      const type = bytes[offset] as number
      const valueStart = offset + TLV_HEADER_LENGTH
      const valueEnd = valueStart + (((bytes[offset + 1] as number) << 8) | (bytes[offset + 2] as number))
      if (key === 'tlvs' || type !== PP2_TYPE_NOOP) list.push({ type, value: bytes.subarray(valueStart, valueEnd) })
      offset = valueEnd
    }
    return Object.freeze(list)
  })
}
