// Runs in the scratch project with plain node (scripts/pack-check/scratch.ts
// strips the types into smoke.js): imports the installed package, serves a
// broker with the plugin on 127.0.0.1:0, sends a PROXY v1 header and an MQTT
// CONNECT over loopback, and prints what the broker saw as JSON (one line,
// a SmokeResult). The header's address (TEST-NET-3) is data only: nothing is
// sent to it.
import net from 'node:net'
import { createRequire } from 'node:module'
import { Aedes } from 'aedes'
import * as pkg from 'aedes-proxy-protocol'
import type { SmokeResult } from './smoke-result.js'
const { proxyProtocol, withPlugins, parseHeader } = pkg

const require = createRequire(import.meta.url)
const packageJson = (require('aedes-proxy-protocol/package.json') as { name: string }).name
// Not exported: the import must fail with ERR_PACKAGE_PATH_NOT_EXPORTED. A
// variable specifier, so the compiler does not resolve it.
const internal = 'aedes-proxy-protocol/dist/plugin.js'
let deepImport: string
try { await import(internal); deepImport = 'allowed' } catch (err) { deepImport = (err as NodeJS.ErrnoException).code ?? String(err) }

const seen: Array<string | undefined> = []
const broker = withPlugins(await Aedes.createBroker({
  authenticate (client, _u, _p, done) { seen.push(client.connDetails?.ipAddress); done(null, true) }
}))
broker.use(proxyProtocol({ proxyEnabled: true }))
const server = net.createServer(broker.handle)
await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve) })
const port = (server.address() as net.AddressInfo).port

const clientId = Buffer.from('pack-check')
const body = Buffer.concat([
  Buffer.from([0x00, 0x04]), Buffer.from('MQTT'), Buffer.from([0x04, 0x02, 0x00, 0x3c]),
  Buffer.from([0x00, clientId.length]), clientId
])
const connect = Buffer.concat([Buffer.from([0x10, body.length]), body])
const header = Buffer.from(`PROXY TCP4 203.0.113.7 127.0.0.1 40001 ${port}\r\n`)
const connack = await new Promise<number[]>((resolve, reject) => {
  const socket = net.connect(port, '127.0.0.1', () => socket.write(Buffer.concat([header, connect])))
  const timer = setTimeout(() => { socket.destroy(); reject(new Error('no CONNACK within 5 s')) }, 5000)
  socket.once('data', d => { clearTimeout(timer); socket.end(); resolve([...d.subarray(0, 4)]) })
  socket.once('error', err => { clearTimeout(timer); reject(err) })
})
const out: SmokeResult = {
  proxyProtocol: typeof proxyProtocol,
  withPlugins: typeof withPlugins,
  parseHeader: typeof parseHeader,
  packageJson,
  deepImport,
  port,
  connack,
  ipAddress: seen[0]
}
await new Promise<void>(resolve => server.close(() => resolve()))
await new Promise<void>(resolve => broker.close(() => resolve()))
console.log(JSON.stringify(out))
