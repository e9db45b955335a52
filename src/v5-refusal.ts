import type { EventEmitter } from 'node:events'
import type { Client } from 'aedes'
import mqttPacket from 'mqtt-packet'

/** The MQTT 5 CONNACK reason codes the plugins refuse a client with. */
export const REASON_CODE = {
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  banned: 0x8a,
  connectionRateExceeded: 0x9f
} as const

/**
 * The reason codes aedes 2 writes itself for `authenticate`'s return codes
 * 2-5 (lib/handlers/connect.js): a refusal with one of these goes through
 * aedes, the others are written by {@link refuseV5}.
 */
const AEDES_WRITES: Readonly<Record<number, 2 | 3 | 4 | 5>> = { 0x85: 2, 0x88: 3, 0x86: 4, 0x87: 5 }

/** An aedes client with its broker, which aedes' types leave out. */
type ClientInside = Client & { broker?: EventEmitter }

/**
 * Whether `client` sent an MQTT 5 CONNECT. Only aedes 2 gets that far
 * with one: aedes 0.51 and 1.x refuse it (CONNACK 1) before
 * `authenticate` runs.
 */
export function speaksV5 (client: Client): boolean {
  return client.version === 5
}

/** The `authenticate` return code aedes 2 turns into `reasonCode`, or undefined when it has none. */
export function aedesReturnCode (reasonCode: number): 2 | 3 | 4 | 5 | undefined {
  return AEDES_WRITES[reasonCode]
}

/**
 * Refuses an MQTT 5 client during `authenticate` with a reason code aedes
 * cannot write (aedes 2 maps only return codes 2-5, to 0x85-0x88): writes
 * the CONNACK with `reasonCode` itself, once it is on the stream ends the
 * client as aedes ends one in error (`'clientError'` with `err`, its
 * `reasonCode` set as aedes sets it; the stream destroyed; the client
 * closed), then calls `then` (aedes' authenticate callback), which finds
 * the client closed and writes nothing more. Emits `'connackSent'` as
 * aedes does for its own CONNACKs.
 */
export function refuseV5 (client: Client, reasonCode: number, err: Error, then: () => void): void {
  if (client.closed) {
    then()
    return
  }
  const packet = { cmd: 'connack', reasonCode, sessionPresent: false } as const
  Object.assign(err, { reasonCode })
  client.conn.write(mqttPacket.generate(packet, { protocolVersion: 5 }), (writeError) => {
    if (writeError == null) (client as ClientInside).broker?.emit('connackSent', packet, client)
    if (!client.closed) client.emit('error', err)
    then()
  })
}
