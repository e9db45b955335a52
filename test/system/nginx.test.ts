// A real nginx (stream module, `proxy_protocol on;`, so PROXY v1) in front of
// a real aedes broker with the plugin. The MQTT.js client connects from
// 127.0.0.2; nginx connects to the broker from 127.0.0.9 (`proxy_bind`).
// Everything is on loopback; nginx is stopped by PID in t.after.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type net from 'node:net'
import mqtt from 'mqtt'
import { startStack } from '../helpers/stack.js'
import { connectClient, endClient } from '../helpers/client.js'
import { freePort, requireProgram, startNginx } from '../helpers/programs.js'

test('nginx stream proxy_protocol on (v1) to the tcp listener: hooks see the client\'s address and port', async (t) => {
  if (requireProgram(t, 'nginx', 'nginx-light libnginx-mod-stream') === undefined) return
  const stack = await startStack({ listener: 'tcp', plugin: { listeners: { tcp: { proxyEnabled: true } } } })
  t.after(() => stack.close())
  const fe = await freePort()
  const nginx = await startNginx([
    'stream {',
    '  server {',
    `    listen 127.0.0.1:${fe};`,
    `    proxy_pass 127.0.0.1:${stack.port};`,
    '    proxy_protocol on;',
    '    proxy_bind 127.0.0.9;',
    '    proxy_connect_timeout 2s;',
    '    proxy_timeout 10s;',
    '  }',
    '}'
  ].join('\n'))
  t.after(() => nginx.stop())
  const client = await connectClient({ listener: 'tcp', port: fe, localAddress: '127.0.0.2' })
  t.after(() => { client.end(true) })
  const localPort = (client.stream as net.Socket).localPort
  assert.ok(typeof localPort === 'number' && localPort > 0)
  const seen = stack.seen.find(s => s.hook === 'authenticate' && s.clientId === client.options.clientId)
  assert.ok(seen?.details, 'authenticate saw connDetails')
  const d = seen.details
  assert.equal(d.ipAddress, '127.0.0.2')
  assert.equal(d.port, localPort)
  assert.equal(d.ipFamily, 4)
  assert.equal(d.isProxy, 1)
  assert.equal(d.serverIpAddress, '127.0.0.1')
  assert.equal(d.serverPort, fe)
  assert.equal(d.peer.address, '127.0.0.9')
  assert.equal(d.listener, 'tcp')
  assert.equal(d.proxy?.proxied, true)
  assert.equal(d.proxy?.version, 1)
  await endClient(client)
})

// nginx as an HTTP proxy (`http` module, no PROXY) in front of the ws
// listener with forwardedHeaders, and a client that sends its own
// X-Forwarded-For and X-Real-IP: the broker must see the client's real
// address (127.0.0.2), never the 203.0.113.9 it wrote.
const SPOOFED = { 'X-Forwarded-For': '203.0.113.9', 'X-Real-IP': '203.0.113.9' }
const rows = [
  { forwardedHeaders: true, set: 'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;', header: 'x-forwarded-for' },
  { forwardedHeaders: 'x-real-ip', set: 'proxy_set_header X-Real-IP $remote_addr;', header: 'x-real-ip' }
] as const
for (const row of rows) {
  test(`nginx http proxy, ${row.set} (forwardedHeaders: ${JSON.stringify(row.forwardedHeaders)}): a client's own forwarded headers do not choose its address`, async (t) => {
    if (requireProgram(t, 'nginx', 'nginx-light libnginx-mod-stream') === undefined) return
    const stack = await startStack({ listener: 'ws', plugin: { trustedProxies: ['127.0.0.9'], listeners: { ws: { forwardedHeaders: row.forwardedHeaders } } } })
    t.after(() => stack.close())
    const fe = await freePort()
    const nginx = await startNginx(dir => [
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${dir}/body;`,
      `  proxy_temp_path ${dir}/proxy;`,
      '  server {',
      `    listen 127.0.0.1:${fe};`,
      '    location / {',
      `      proxy_pass http://127.0.0.1:${stack.port};`,
      '      proxy_http_version 1.1;',
      '      proxy_set_header Upgrade $http_upgrade;',
      '      proxy_set_header Connection "upgrade";',
      `      ${row.set}`,
      '      proxy_bind 127.0.0.9;',
      '    }',
      '  }',
      '}'
    ].join('\n'))
    t.after(() => nginx.stop())
    const client = mqtt.connect(`ws://127.0.0.1:${fe}/`, { reconnectPeriod: 0, wsOptions: { localAddress: '127.0.0.2', headers: SPOOFED } })
    t.after(() => { client.end(true) })
    await new Promise<void>((resolve, reject) => { client.once('connect', () => resolve()); client.once('error', reject) })
    const seen = stack.seen.find(s => s.hook === 'authenticate' && s.clientId === client.options.clientId)
    assert.ok(seen?.details, 'authenticate saw connDetails')
    const d = seen.details
    assert.equal(d.ipAddress, '127.0.0.2')
    assert.equal(d.forwarded, row.header)
    assert.equal(d.peer.address, '127.0.0.9')
    assert.equal(d.listener, 'ws')
    assert.equal(d.isWebsocket, true)
    await endClient(client)
  })
}
