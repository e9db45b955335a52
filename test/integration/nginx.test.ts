// A real nginx (stream module, `proxy_protocol on;`, so PROXY v1) in front of
// a real aedes broker with the plugin. The MQTT.js client connects from
// 127.0.0.2; nginx connects to the broker from 127.0.0.9 (`proxy_bind`).
// Everything is on loopback; nginx is stopped by PID in t.after.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type net from 'node:net'
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
