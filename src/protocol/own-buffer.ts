/**
 * Copies in buffers of their own, exactly their size, for bytes kept for a
 * connection's life (a TLV set, what aedes keeps of the first packet, a
 * refusal an application holds on to) or while a peer waits. Not
 * `Buffer.from` or `Buffer.allocUnsafe`: below 4 KiB those return a piece of
 * Buffer's shared 8 KiB pool, and one kept piece keeps its whole slab alive
 * (8 KiB retained for a 4 KiB header, measured).
 */
// Bench: bench/client-memory.ts (bench/README.md section 5, "Memory per connected client").

/** A copy of `bytes`. */
export function ownCopy (bytes: Uint8Array): Buffer {
  const own = Buffer.allocUnsafeSlow(bytes.length)
  own.set(bytes)
  return own
}

/** The bytes of a latin1 string. */
export function ownLatin1 (text: string): Buffer {
  const own = Buffer.allocUnsafeSlow(text.length)
  own.write(text, 0, 'latin1')
  return own
}
