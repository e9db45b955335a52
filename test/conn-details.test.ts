// The forwarded-header rule, on requests parsed by a real node:http server
// on 127.0.0.1 (so several header lines are joined as Node joins them), and
// what counts as a WebSocket's request.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http, { type IncomingMessage } from 'node:http'
import net from 'node:net'
import { once } from 'node:events'
import { addressMatcher } from '../src/trust.js'
import { forwardedAddress, upgradeRequest } from '../src/conn-details.js'
import type { ForwardedHeader } from '../src/options.js'

let server: http.Server
let port = 0
const waiting: Array<(req: IncomingMessage) => void> = []

before(async () => {
  server = http.createServer((req, res) => {
    waiting.shift()?.(req)
    res.end()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  port = (server.address() as net.AddressInfo).port
})
after(async () => { await new Promise(resolve => server.close(resolve)) })

/** The request the server parsed from these raw header lines. */
async function request (lines: readonly string[]): Promise<IncomingMessage> {
  const got = new Promise<IncomingMessage>(resolve => waiting.push(resolve))
  const socket = net.connect(port, '127.0.0.1')
  socket.on('data', () => {})
  socket.end(['GET / HTTP/1.1', 'Host: 127.0.0.1', 'Connection: close', ...lines, '', ''].join('\r\n'))
  const req = await got
  await once(socket, 'close')
  return req
}

const PROXIES = addressMatcher(['127.0.0.9', '10.0.0.0/8', 'fd00::/8'])

async function walk (
  lines: readonly string[], which: ForwardedHeader = 'x-forwarded-for'
): Promise<string | undefined> {
  return forwardedAddress(await request(lines), which, PROXIES)?.address
}

test('X-Forwarded-For: the client\'s own leftmost entry is not believed, ' +
  'the entry the trusted proxy appended is', async () => {
  // The client sent `X-Forwarded-For: 203.0.113.9`; nginx's $proxy_add_x_forwarded_for appended its peer.
  assert.equal(await walk(['X-Forwarded-For: 203.0.113.9, 127.0.0.2']), '127.0.0.2')
  assert.equal(await walk(['X-Forwarded-For: 127.0.0.2']), '127.0.0.2')
})

test('X-Forwarded-For on several header lines is one list, read from the last line\'s end', async () => {
  // HAProxy `option forwardfor` adds a line beside the client's own.
  const req = await request(['X-Forwarded-For: 203.0.113.9', 'X-Forwarded-For: 127.0.0.2'])
  assert.equal(req.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.2')
  assert.equal(forwardedAddress(req, 'x-forwarded-for', PROXIES)?.address, '127.0.0.2')
})

test('a chain of trusted proxies is walked past, to the first address that is not one', async () => {
  assert.equal(await walk(['X-Forwarded-For: 203.0.113.9, 198.51.100.7, 10.1.1.1, 10.2.2.2']), '198.51.100.7')
  assert.equal(await walk(['X-Forwarded-For: 198.51.100.7, 10.1.1.1', 'X-Forwarded-For: 127.0.0.9']), '198.51.100.7')
})

test('every entry a trusted proxy: the leftmost, as nginx does', async () => {
  assert.equal(await walk(['X-Forwarded-For: 10.1.1.1, 10.2.2.2']), '10.1.1.1')
})

test('an entry that is not one IP address where the walk reaches it: nothing forwarded is used', async () => {
  for (const value of ['unknown', '203.0.113.9, unknown', '203.0.113.9, 127.0.0.2:5000', '203.0.113.9,',
    '203.0.113.9, , 10.1.1.1',
    '010.1.2.3', 'fe80::1%eth0', '[2001:db8::1]', '_hidden, 10.1.1.1', '']) {
    assert.equal(await walk([`X-Forwarded-For: ${value}`]), undefined, value)
  }
  // Garbage to the left of the address found is the client's, and never read.
  assert.equal(await walk(['X-Forwarded-For: not an address, 127.0.0.2']), '127.0.0.2')
})

test('IPv6 and IPv4-mapped forms: canonical, and a trusted proxy is recognised however it is written', async () => {
  assert.equal(await walk(['X-Forwarded-For: 203.0.113.9, 2001:DB8:0:0:0:0:0:1']), '2001:db8::1')
  assert.equal(await walk(['X-Forwarded-For: 203.0.113.9, ::FFFF:127.0.0.2']), '::ffff:127.0.0.2')
  assert.equal(await walk(['X-Forwarded-For: 203.0.113.9, 2001:db8::5, ::ffff:10.1.1.1, FD00::1']), '2001:db8::5')
})

test('X-Real-IP is read only where it is the configured header, and only as one address', async () => {
  assert.equal(await walk(['X-Real-IP: 203.0.113.9']), undefined)
  assert.equal(await walk(['X-Real-IP: 203.0.113.9', 'X-Forwarded-For: 127.0.0.2']), '127.0.0.2')
  assert.equal(await walk(['X-Real-IP: 127.0.0.2', 'X-Forwarded-For: 203.0.113.9'], 'x-real-ip'), '127.0.0.2')
  assert.equal(await walk(['X-Real-IP: 2001:0DB8::0005'], 'x-real-ip'), '2001:db8::5')
  // Two lines (the client's and the proxy's) are not one address.
  assert.equal(await walk(['X-Real-IP: 203.0.113.9', 'X-Real-IP: 127.0.0.2'], 'x-real-ip'), undefined)
  assert.equal(await walk(['X-Real-IP: 203.0.113.9, 127.0.0.2'], 'x-real-ip'), undefined)
})

test('only a real HTTP request is a WebSocket\'s: aedes-server-factory\'s { connDetails } is not', async () => {
  const req = await request([])
  assert.equal(upgradeRequest(req), req)
  assert.equal(upgradeRequest({ connDetails: {} }), undefined)
  assert.equal(upgradeRequest(undefined), undefined)
})
