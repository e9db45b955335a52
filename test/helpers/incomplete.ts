import assert from 'node:assert/strict'
import type { ParseResult } from '../../src/protocol/header.js'
import { V1_MAX_LENGTH } from '../../src/protocol/v1.js'

/**
 * `result` is `incomplete` for a prefix of `have` bytes of a header that is
 * `total` bytes in all, and what it says it needs is usable by a reader:
 * more than it has, never more than the header holds (a reader would wait
 * forever), within room the parser gives, and room no larger than the header
 * (107 bytes for any v1 line).
 */
export function assertIncomplete (result: ParseResult, have: number, total: number | undefined, message?: string): void {
  assert.equal(result.status, 'incomplete', message)
  if (result.status !== 'incomplete') return
  const where = message === undefined ? '' : `${message}: `
  assert.ok(result.needed > have, `${where}needed ${result.needed} is not more than the ${have} bytes held`)
  if (total !== undefined) assert.ok(result.needed <= total, `${where}needed ${result.needed} is more than the header's ${total} bytes`)
  assert.ok(result.capacity >= result.needed, `${where}capacity ${result.capacity} is less than needed ${result.needed}`)
  if (total !== undefined) assert.ok(result.capacity <= Math.max(total, V1_MAX_LENGTH), `${where}capacity ${result.capacity} is more than the header needs`)
}
