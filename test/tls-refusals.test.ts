// A TLS handshake the ssl or wss server refuses is logged with the real
// client address from the header, once a minute per listener.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startStack } from './helpers/stack.js'
import { startFront } from './helpers/front.js'
import { connectClient, endClient } from './helpers/client.js'
import { rawExchange } from './helpers/raw.js'
import { until } from './helpers/wait.js'
import type { Logger } from '../src/options.js'

function recorder (): { logger: Logger, lines: Array<{ level: string, record: Record<string, unknown>, msg: string }> } {
  const lines: Array<{ level: string, record: Record<string, unknown>, msg: string }> = []
  const at = (level: string) => (record: object, msg?: string): void => { lines.push({ level, record: record as Record<string, unknown>, msg: msg ?? '' }) }
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines }
}

for (const listener of ['ssl', 'wss'] as const) {
  test(`${listener}: a handshake the server refuses is logged with the real address behind the proxy, once a minute; the broker keeps serving`, async (t) => {
    const { logger, lines } = recorder()
    const stack = await startStack({ listener, mtls: true, plugin: { proxyEnabled: true, trustedProxies: ['127.0.0.9'], logger } })
    t.after(() => stack.close())
    const front = await startFront({ target: stack.port, header: 'v2', upstreamAddress: '127.0.0.9' })
    t.after(() => front.close())
    // TLS without the client certificate the server requires, then not TLS at all.
    await assert.rejects(connectClient({ listener, port: front.port, localAddress: '127.0.0.2' }))
    await until(() => lines.some(l => l.record.refusedBy === 'tls'), 5000, 'the TLS refusal line')
    await rawExchange(front.port, [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')], { localAddress: '127.0.0.3' })
    const refused = lines.filter(l => l.record.refusedBy === 'tls')
    assert.equal(refused.length, 1, 'the second refusal on the same listener within the minute is held back')
    const line = refused[0]
    assert.equal(line?.level, 'warn')
    assert.equal(line?.record.event, 'refused')
    assert.equal(line?.record.listener, listener)
    assert.equal(line?.record.ipAddress, '127.0.0.2', 'the client behind the proxy, from the header')
    assert.equal((line?.record.peer as { address: string }).address, '127.0.0.9', 'the proxy')
    assert.equal(line?.record.reason, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: peer did not return a certificate')
    assert.equal(line?.msg, 'TLS handshake refused: ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: peer did not return a certificate')
    // Everyone else is still served.
    const good = await connectClient({ listener, port: front.port, localAddress: '127.0.0.4', clientCert: true })
    await endClient(good)
  })
}

for (const listener of ['ssl', 'wss'] as const) {
  test(`${listener}: a client certificate from another CA is logged as not verified, not as a hang-up`, async (t) => {
    const { logger, lines } = recorder()
    const stack = await startStack({ listener, mtls: true, plugin: { proxyEnabled: true, trustedProxies: ['127.0.0.9'], logger } })
    t.after(() => stack.close())
    const front = await startFront({ target: stack.port, header: 'v2', upstreamAddress: '127.0.0.9' })
    t.after(() => front.close())
    await assert.rejects(connectClient({ listener, port: front.port, localAddress: '127.0.0.2', clientCert: 'other CA' }))
    await until(() => lines.some(l => l.record.refusedBy === 'tls'), 5000, 'the TLS refusal line')
    const line = lines.find(l => l.record.refusedBy === 'tls')
    assert.equal(line?.record.ipAddress, '127.0.0.2', 'the client behind the proxy, from the header')
    assert.match(String(line?.record.reason), /^client certificate not verified \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/)
  })
}
