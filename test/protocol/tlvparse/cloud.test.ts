// Cloud vendors' TLVs in the application-specific range (spec 2.2.8):
// src/protocol/tlvparse/cloud.ts, read through parseHeader as a receiver does.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { TlvSet } from '../../../src/protocol/tlv.js'
import { TLV, type Tlv } from '../../helpers/encode.js'
import { bytes, latin1, parseTlvs, raw, withTlvs } from '../../helpers/tlv-set.js'

const cloud: ReadonlyArray<{ name: string, tlv: Tlv, check: (set: TlvSet) => void }> = [
  {
    name: 'AWS 0xEA subtype 0x01: VPC endpoint id',
    tlv: raw(TLV.AWS, Buffer.concat([bytes(0x01), latin1('vpce-08d2bf15fac5001c9')])),
    check: set => assert.equal(set.awsVpceId, 'vpce-08d2bf15fac5001c9')
  },
  {
    name: 'AWS 0xEA with another subtype: kept raw, not decoded',
    tlv: raw(TLV.AWS, Buffer.concat([bytes(0x02), latin1('vpce-08d2bf15fac5001c9')])),
    check: set => {
      assert.equal(set.awsVpceId, undefined)
      assert.deepEqual(set.raw.map(t => t.type), [TLV.AWS])
    }
  },
  {
    name: 'AWS 0xEA with characters outside [A-Za-z0-9-]: not decoded',
    tlv: raw(TLV.AWS, Buffer.concat([bytes(0x01), latin1('vcpe-!?***&&&')])),
    check: set => assert.equal(set.awsVpceId, undefined)
  },
  {
    name: 'Azure 0xEE: subtype 0x01 + little-endian uint32 LinkID',
    tlv: raw(TLV.AZURE, bytes(0x01, 0x78, 0x56, 0x34, 0x12)),
    check: set => assert.equal(set.azureLinkId, 0x12345678)
  },
  {
    name: 'Azure 0xEE: LinkID 0xFFFFFFFF is unsigned',
    tlv: raw(TLV.AZURE, bytes(0x01, 0xff, 0xff, 0xff, 0xff)),
    check: set => assert.equal(set.azureLinkId, 4294967295)
  },
  {
    name: 'Azure 0xEE of 4 bytes: not decoded, kept raw',
    tlv: raw(TLV.AZURE, bytes(0x01, 0x78, 0x56, 0x34)),
    check: set => {
      assert.equal(set.azureLinkId, undefined)
      assert.equal(set.raw.length, 1)
    }
  },
  {
    name: 'Azure 0xEE with another subtype: not decoded',
    tlv: raw(TLV.AZURE, bytes(0x02, 0x78, 0x56, 0x34, 0x12)),
    check: set => assert.equal(set.azureLinkId, undefined)
  },
  {
    name: 'GCP 0xE0: 8-byte big-endian PSC connection id',
    tlv: raw(TLV.GCP, bytes(0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08)),
    check: set => assert.equal(set.gcpPscConnectionId, 0x0102030405060708n)
  },
  {
    name: 'GCP 0xE0: 2^64 - 1',
    tlv: raw(TLV.GCP, Buffer.alloc(8, 0xff)),
    check: set => assert.equal(set.gcpPscConnectionId, 0xffffffffffffffffn)
  },
  {
    name: 'GCP 0xE0 of 7 bytes: not decoded, kept raw',
    tlv: raw(TLV.GCP, Buffer.alloc(7, 1)),
    check: set => {
      assert.equal(set.gcpPscConnectionId, undefined)
      assert.equal(set.raw.length, 1)
    }
  }
]

for (const row of cloud) {
  test(`TLV: ${row.name}`, () => row.check(parseTlvs(withTlvs([row.tlv]))))
}
