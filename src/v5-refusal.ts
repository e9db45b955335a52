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
type ClientInside = Client & { broker?: EventEmitter & { closed?: boolean }, connackSent?: boolean }

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
 * the CONNACK with `reasonCode` itself and, once it is on the stream, ends
 * the client as aedes ends one it refuses (`'clientError'` with `err`; the
 * stream destroyed; the client closed). `err` gets what aedes 2 sets on the
 * error of a refusal it writes (lib/handlers/connect.js): `errorCode`, the
 * return code (`err.returnCode` when 2-5, else 5), and, as for its v5
 * redirects, `reasonCode`; the client gets `connackSent`, and the broker
 * emits `'connackSent'`. Writes nothing to a client already closed or on
 * a closed broker (aedes' own check before it answers).
 *
 * aedes' authenticate callback is not called: once the CONNACK is the
 * plugin's, aedes is left where its own check leaves it for a client closed
 * meanwhile (it returns without answering). Nothing in aedes 2 waits on that
 * callback: the client is paused, its connect timer was cleared when the
 * CONNECT arrived, it is not yet registered (no client counted), and
 * `client.close()` clears its timers and `connecting`.
 */
export function refuseV5 (client: Client, reasonCode: number, err: Error & { returnCode?: number }): void {
  const inside = client as ClientInside
  if (client.closed || inside.broker?.closed === true) return
  const packet = { cmd: 'connack', reasonCode, sessionPresent: false } as const
  const returnCode = err.returnCode
  const errorCode = returnCode !== undefined && returnCode >= 2 && returnCode <= 5 ? returnCode : 5
  Object.assign(err, { errorCode, reasonCode })
  client.conn.write(mqttPacket.generate(packet, { protocolVersion: 5 }), (writeError) => {
    if (writeError == null) {
      inside.connackSent = true
      inside.broker?.emit('connackSent', packet, client)
    }
    if (!client.closed) client.emit('error', err)
  })
}
