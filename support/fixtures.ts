/**
 * Real-world and spec PROXY headers, as bytes. Each one cites where it comes
 * from; the byte vectors are data copied from those sources.
 */
import { encodeV2 } from './encode.js'

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex')

/**
 * A minimal MQTT 3.1.1 CONNECT (clean session, keepalive 60, empty client
 * id): the bytes a client sends right after the PROXY header.
 */
export const MQTT_CONNECT = hex('10 0c 0004 4d515454 04 02 003c 0000')

/**
 * HAProxy v2 test vector with AUTHORITY, UNIQUE_ID, SSL{VERSION, KEY_ALG,
 * SIG_ALG, CIPHER} and CRC32C, followed by 39 bytes of payload
 * ("Test data that is not part of PROXYv2.\n"). The header is 130 bytes.
 * Source: TimWolla in aio-libs/aiosmtpd#174 (PROXY-NOTES.md 2.1).
 */
export const HAPROXY_TLV_VECTOR = Buffer.from(
  'DQoNCgANClFVSVQKIREAcn8AAAF/AAABsFJipQMABFT9xv8CAAlBVVRIT1JJVFkFAAlVTklRVUVfSUQgAEQBAAAAACEAB1RMU3YxLjIl' +
  'AAdSU0E0MDk2JAAKUlNBLVNIQTI1NiMAG0VDREhFLVJTQS1BRVMyNTYtR0NNLVNIQTM4NFRlc3QgZGF0YSB0aGF0IGlzIG5vdCBwYXJ0' +
  'IG9mIFBST1hZdjIuCg==',
  'base64')
export const HAPROXY_TLV_VECTOR_HEADER_LENGTH = 130

/**
 * AWS NLB PROXY v2 header from a VPC endpoint: PROXY, AF_INET/STREAM,
 * len 0x54, CRC32C TLV, 0xEA TLV with subtype 0x01 "vpce-08d2bf15fac5001c9",
 * NOOP TLV with 36 zero bytes. Source: pires/go-proxyproto
 * tlvparse/aws_test.go "VPCE example", taken from
 * aws/elastic-load-balancing-tools (Compatibility_AwsNetworkLoadBalancerTest.java).
 */
export const AWS_NLB_VPCE_EXAMPLE = hex(`
  0d0a0d0a 000d0a51 5549540a
  21 11 0054
  ac1f0771 ac1f0a1f c8f2 0050
  03 0004 e8d6892d
  ea 0017 01 767063652d30386432626631356661633530303163 39
  04 0024 ${'00'.repeat(36)}
`)

/**
 * AWS NLB PROXY v2 header captured from a VPC endpoint connection, same
 * layout, "vpce-00eafc458ec97b833". Source: pires/go-proxyproto
 * tlvparse/aws_test.go "VPCE capture".
 */
export const AWS_NLB_VPCE_CAPTURE = hex(`
  0d0a0d0a 000d0a51 5549540a
  21 11 0054
  c0a82c0a c0a82c07 cc3e 241b
  03 0004 b9286fa6
  ea 0017 01 767063652d30306561666334353865633937623833 33
  04 0024 ${'00'.repeat(36)}
`)

/**
 * AWS NLB health check: LOCAL with AF_INET/STREAM and len 0x54 (84), which a
 * receiver must skip whole (spec 2.2). Captured with tcpdump by tsuna in
 * kubernetes/kubernetes#57250 (2019-03-21). Note the real bytes carry no
 * address block: the CRC32C TLV (which verifies over all 100 bytes) follows
 * the 16-byte prefix directly, then NOOP `04 004a` with 74 zero bytes.
 */
export const AWS_NLB_HEALTH_CHECK_CAPTURE = hex(`
  0d0a0d0a 000d0a51 5549540a
  20 11 0054
  03 0004 bce5951f
  04 004a ${'00'.repeat(74)}
`)

/**
 * The health check as PROXY-NOTES.md 2.2 describes it: LOCAL, AF_INET,
 * zero addresses, CRC32C TLV, NOOP padding, len 84. Built with the encoder.
 */
export const AWS_NLB_HEALTH_CHECK_ENCODED = encodeV2({
  command: 'LOCAL',
  family: 'INET',
  transport: 'STREAM',
  crc32c: true,
  noopPadding: 84 - 12 - 7 - 3
})

/**
 * nginx's v1 writer takes TCP4/TCP6 from the client address but prints the
 * local address, so it can send an IPv4 destination in a TCP6 line, which
 * the spec forbids ("the advertised protocol family dictates what format to
 * use"). Source: nginx/nginx#1609 (PROXY-NOTES.md 2.5).
 */
export const NGINX_MIXED_FAMILY_V1 = Buffer.from('PROXY TCP6 2001:db8::1 192.0.2.1 51234 1883\r\n', 'latin1')

/**
 * The short UNKNOWN form HAProxy (`send-proxy` for unix sockets and other
 * families) and nginx send. Source: haproxy src/connection.c
 * make_proxy_line_v1; spec 2.1.
 */
export const HAPROXY_V1_UNKNOWN_SHORT = Buffer.from('PROXY UNKNOWN\r\n', 'latin1')

/**
 * The long UNKNOWN form at the spec's 107-byte worst case. Source: spec 2.1
 * ("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n").
 */
const FFFF = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
export const V1_UNKNOWN_LONG = Buffer.from(`PROXY UNKNOWN ${FFFF} ${FFFF} 65535 65535\r\n`, 'latin1')

/** Spec 2.1 example line. */
export const SPEC_V1_TCP4_EXAMPLE = Buffer.from('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n', 'latin1')
/** Spec 2.1: the longest TCP4 line, 56 bytes. */
export const SPEC_V1_TCP4_MAX = Buffer.from('PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n', 'latin1')
/** Spec 2.1: the longest TCP6 line, 104 bytes. */
export const SPEC_V1_TCP6_MAX = Buffer.from(`PROXY TCP6 ${FFFF} ${FFFF} 65535 65535\r\n`, 'latin1')
