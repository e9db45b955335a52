// Runs each example as a user would (a separate process via tsx), puts a
// PROXY-speaking front before it, and connects a real MQTT.js client.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import type net from 'node:net'
import { fileURLToPath } from 'node:url'
import { startFront, v1HeaderFor, v2HeaderFor } from '../helpers/front.js'
import { connectClient, endClient } from '../helpers/client.js'
import { testCerts } from '../helpers/certs.js'
import { spawnProgram, type Spawned } from '../helpers/spawn.js'
import type { ListenerName } from '../../src/index.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

interface Running {
  readonly program: Spawned
  readonly port: number
}

/** `node --import tsx examples/<file>` on 127.0.0.1:0, stopped in t.after; resolves on its listener line. */
async function runExample (t: TestContext, file: string, env: Record<string, string>): Promise<Running> {
  const program = spawnProgram(process.execPath, ['--import', 'tsx', `examples/${file}`], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...env },
    label: `example ${file}`,
    t
  })
  const ready = await program.waitFor(/ listener on /, 20_000)
  const port = Number(/:(\d+),/.exec(ready)?.[1])
  return { program, port }
}

const certs = testCerts()
const rows: Array<{ file: string, listener: ListenerName, env: Record<string, string> }> = [
  { file: 'tcp.ts', listener: 'tcp', env: {} },
  { file: 'tls.ts', listener: 'ssl', env: { TLS_KEY: certs.serverKeyPath, TLS_CERT: certs.serverCertPath, TLS_CA: certs.caPath } },
  { file: 'ws.ts', listener: 'ws', env: {} },
  { file: 'wss.ts', listener: 'wss', env: { TLS_KEY: certs.serverKeyPath, TLS_CERT: certs.serverCertPath } }
]

for (const row of rows) {
  test(`examples/${row.file}: a client behind a PROXY front is seen with its own address`, async (t) => {
    const example = await runExample(t, row.file, row.env)
    for (const version of ['v1', 'v2'] as const) {
      const accepted: number[] = []
      const front = await startFront({
        target: example.port,
        header: (c: net.Socket) => { accepted.push(c.remotePort as number); return version === 'v1' ? v1HeaderFor(c) : v2HeaderFor(c) },
        delivery: 'with-first-chunk'
      })
      const clientId = `example-${row.listener}-${version}`
      const client = await connectClient({ listener: row.listener, port: front.port, localAddress: '127.0.0.2', clientId, clientCert: row.listener === 'ssl' })
      const line = await example.program.waitFor(`"clientId":"${clientId}"`, 20_000)
      const logged = JSON.parse(line) as { ip: string, port: number, certCn?: string }
      assert.equal(logged.ip, '127.0.0.2')
      assert.equal(logged.port, accepted[0])
      if (row.listener === 'ssl') assert.equal(logged.certCn, 'client-1')
      await endClient(client)
      await front.close()
    }
    const { code } = await example.program.stop('SIGTERM')
    assert.equal(code, 0)
  })
}
