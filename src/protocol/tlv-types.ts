// Spec 2.2: TLV type numbers, with the wire names kept so they grep against
// the document. `header.tlvs.raw[i].type` is one of these, or any other byte.

export const PP2_TYPE_ALPN = 0x01
export const PP2_TYPE_AUTHORITY = 0x02
export const PP2_TYPE_CRC32C = 0x03
export const PP2_TYPE_NOOP = 0x04
export const PP2_TYPE_UNIQUE_ID = 0x05
export const PP2_TYPE_SSL = 0x20
export const PP2_SUBTYPE_SSL_VERSION = 0x21
export const PP2_SUBTYPE_SSL_CN = 0x22
export const PP2_SUBTYPE_SSL_CIPHER = 0x23
export const PP2_SUBTYPE_SSL_SIG_ALG = 0x24
export const PP2_SUBTYPE_SSL_KEY_ALG = 0x25
export const PP2_SUBTYPE_SSL_GROUP = 0x26
export const PP2_SUBTYPE_SSL_SIG_SCHEME = 0x27
export const PP2_SUBTYPE_SSL_CLIENT_CERT = 0x28
export const PP2_TYPE_NETNS = 0x30
// Spec 2.2.8: 0xE0-0xEF are application-specific. Cloud load balancers use:
export const PP2_TYPE_GCP = 0xe0 // Private Service Connect: 8-byte connection id, big-endian
export const PP2_TYPE_AWS = 0xea // NLB: subtype 0x01 + VPC endpoint id
export const PP2_SUBTYPE_AWS_VPCE_ID = 0x01
export const PP2_TYPE_AZURE = 0xee // Private Link: subtype 0x01 + uint32 link id, little-endian
export const PP2_SUBTYPE_AZURE_PRIVATEENDPOINT_LINKID = 0x01

// Spec 2.2.6: bits of the SSL TLV's `client` field.
export const PP2_CLIENT_SSL = 0x01
export const PP2_CLIENT_CERT_CONN = 0x02
export const PP2_CLIENT_CERT_SESS = 0x04
