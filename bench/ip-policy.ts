// The per-IP rate limiter at its address bound: what check() costs for an
// address it has not seen, once it tracks 100,000 others (issue 9, item 7).
// Run: node --import tsx bench/ip-policy.ts
import { IpPolicy } from '../src/operator/ip-policy.js'
import { MAX_BUCKETS } from '../src/operator/rate-limit.js'

const policy = new IpPolicy({ rateLimit: { perSecond: 0.1, burst: 2 } })
const address = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
for (let i = 0; i < MAX_BUCKETS; i++) void policy.check(address(i))
const rounds = 20_000
const started = process.hrtime.bigint()
for (let i = 0; i < rounds; i++) void policy.check(address(MAX_BUCKETS + i))
const ns = Number(process.hrtime.bigint() - started) / rounds
console.log(`check() of a new address with ${MAX_BUCKETS.toLocaleString('en')} tracked: ${(ns / 1000).toFixed(2)} µs`)
