// Spec 2.2.8: 0xE0-0xEF are application-specific. What cloud load balancers
// put there, decoded apart from the spec's own TLVs (tlv.ts), as
// go-proxyproto's tlvparse/ does: one vendor's number may mean something else
// to another sender, so nothing here ever refuses a header.

export const PP2_TYPE_GCP = 0xe0 // Private Service Connect: 8-byte connection id, big-endian
export const PP2_TYPE_AWS = 0xea // NLB: subtype 0x01 + VPC endpoint id
export const PP2_SUBTYPE_AWS_VPCE_ID = 0x01
export const PP2_TYPE_AZURE = 0xee // Private Link: subtype 0x01 + uint32 link id, little-endian
export const PP2_SUBTYPE_AZURE_PRIVATEENDPOINT_LINKID = 0x01

/** What cloud load balancers put in the application-specific range (spec 2.2.8). */
export interface CloudTlvs {
  /** AWS 0xEA subtype 0x01: VPC endpoint id. */
  readonly awsVpceId?: string
  /** Azure 0xEE subtype 0x01: private endpoint link id. */
  readonly azureLinkId?: number
  /** Google Cloud 0xE0: Private Service Connect connection id. */
  readonly gcpPscConnectionId?: bigint
}

const VPCE_ID = /^[A-Za-z0-9-]*$/

/**
 * Decodes one cloud vendor TLV into `set`, only when the value has the shape
 * the vendor documents and the field is not set yet (the first one wins);
 * otherwise (and for any other type) the TLV stays raw only. Vendors reuse
 * these numbers for other subtypes, so a value of another shape is never an
 * error.
 */
export function decodeCloud (
  set: { -readonly [K in keyof CloudTlvs]: CloudTlvs[K] }, type: number, value: Buffer
): void {
  const length = value.length
  switch (type) {
    case PP2_TYPE_AWS:
      // AWS NLB: subtype 0x01 + the VPC endpoint id as ASCII.
      if (length >= 1 && value[0] === PP2_SUBTYPE_AWS_VPCE_ID && set.awsVpceId === undefined) {
        const id = value.subarray(1).toString('latin1')
        if (VPCE_ID.test(id)) set.awsVpceId = id
      }
      break
    case PP2_TYPE_AZURE:
      // Azure Private Link: subtype 0x01 + uint32 link id, little-endian.
      if (length === 5 && value[0] === PP2_SUBTYPE_AZURE_PRIVATEENDPOINT_LINKID && set.azureLinkId === undefined) {
        set.azureLinkId = value.readUInt32LE(1)
      }
      break
    case PP2_TYPE_GCP:
      // Google Private Service Connect: 8-byte connection id, big-endian.
      if (length === 8 && set.gcpPscConnectionId === undefined) set.gcpPscConnectionId = value.readBigUInt64BE(0)
      break
    default:
      break
  }
}
