// The bytes the benchmarks send: the four parser cases (each a PROXY header
// followed by an MQTT CONNECT in the same buffer, as a receiver's first read
// sees them) and the headers the connection benchmarks put on the wire.
import mqttPacket from 'mqtt-packet'
import { encodeV1, encodeV2, sslTlv, TLV } from '../support/encode.js'
import { AWS_NLB_VPCE_EXAMPLE } from '../support/fixtures.js'

/** MQTT 3.1.1 CONNECT, clean session, empty client id (aedes assigns one). */
export const CONNECT: Buffer = mqttPacket.generate({
  cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: '', keepalive: 60
})
/** MQTT DISCONNECT. */
export const DISCONNECT: Buffer = Buffer.from([0xe0, 0x00])
/** The CONNACK aedes sends for an accepted 3.1.1 CONNECT with a clean session. */
export const CONNACK: Buffer = Buffer.from([0x20, 0x02, 0x00, 0x00])

export interface Expected {
  /** Offset of the first MQTT byte: the header's length. */
  readonly start: number
  readonly source: { readonly address: string, readonly port: number }
}

export interface ParseCase {
  readonly id: string
  readonly label: string
  readonly header: Buffer
  /** header + CONNECT */
  readonly bytes: Buffer
  readonly expected: Expected
}

function parseCase (id: string, label: string, header: Buffer, source: Expected['source']): ParseCase {
  return { id, label, header, bytes: Buffer.concat([header, CONNECT]), expected: { start: header.length, source } }
}

const SRC4 = { address: '192.0.2.10', port: 51234 }
const DST4 = { address: '198.51.100.20', port: 1883 }

/** The VPC endpoint id an AWS NLB puts in TLV 0xEA, subtype 0x01. */
export const VPCE_ID = 'vpce-08d2bf15fac5001c9'

export const PARSE_CASES: readonly ParseCase[] = [
  parseCase('v1-tcp4', 'v1 TCP4',
    encodeV1({ family: 'TCP4', source: SRC4, destination: DST4 }), SRC4),
  parseCase('v1-tcp6', 'v1 TCP6',
    encodeV1({
      family: 'TCP6',
      source: { address: '2001:db8::10', port: 51234 },
      destination: { address: '2001:db8:0:1::20', port: 1883 }
    }),
    { address: '2001:db8::10', port: 51234 }),
  parseCase('v2-inet', 'v2 INET, no TLVs',
    encodeV2({ family: 'INET', source: SRC4, destination: DST4 }), SRC4),
  // 2001:db8:1:0:0:1:0:1 is the address aedes-protocol-decoder prints as
  // the invalid 2001:db8:1::1::1 (PROXY-NOTES 3.3); RFC 5952 writes it
  // 2001:db8:1::1:0:1.
  parseCase('v2-inet6-tlvs', 'v2 INET6 + TLVs',
    encodeV2({
      family: 'INET6',
      source: { address: '2001:db8:1:0:0:1:0:1', port: 51234 },
      destination: { address: '2001:db8::20', port: 8883 },
      tlvs: [
        { type: TLV.ALPN, value: 'mqtt' },
        { type: TLV.AUTHORITY, value: 'mqtt.example.com' },
        { type: TLV.UNIQUE_ID, value: Buffer.from('6a1b4e0c9f2d4a7b8c3e5f60718293a4b5c6d7e8f9011223', 'hex') },
        sslTlv(0x07, 0, [{ type: TLV.SSL_VERSION, value: 'TLSv1.3' }, { type: TLV.SSL_CN, value: 'device-0001' }]),
        { type: TLV.AWS, value: Buffer.concat([Buffer.from([0x01]), Buffer.from(VPCE_ID, 'latin1')]) }
      ]
    }),
    { address: '2001:db8:1::1:0:1', port: 51234 })
]

/** Headers the connection benchmarks send. */
export const WIRE_HEADERS = {
  /** What HAProxy `send-proxy` or nginx `proxy_protocol on` writes. */
  v1: encodeV1({ family: 'TCP4', source: SRC4, destination: DST4 }),
  /** A real AWS NLB header: INET, CRC32C, VPC endpoint id (0xEA), NOOP padding; 100 bytes. */
  v2: AWS_NLB_VPCE_EXAMPLE,
  /** v2 INET without TLVs (what aedes-server-factory can read whole). */
  v2plain: encodeV2({ family: 'INET', source: SRC4, destination: DST4 })
} as const

export type WireHeader = keyof typeof WIRE_HEADERS

/** Where a header is split when it is sent in two writes. */
export const SPLIT_AT = 8
