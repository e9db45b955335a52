// Runs each example as a user would (a separate process via tsx), puts a
// PROXY-speaking front before it, and connects a real MQTT.js client.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type net from 'node:net'
import { fileURLToPath } from 'node:url'
import { startFront, v1HeaderFor, v2HeaderFor } from './helpers/front.js'
import { connectClient, endClient } from './helpers/client.js'
import { testCerts } from './helpers/certs.js'
import type { ListenerName } from '../src/index.js'

const root = fileURLToPath(new URL('..', import.meta.url))

interface Running {
  readonly child: ChildProcess
  readonly port: number
  readonly lines: string[]
  waitFor (predicate: (line: string) => boolean): Promise<string>
}

async function runExample (file: string, env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/${file}`], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const lines: string[] = []
  const waiters: Array<{ predicate: (l: string) => boolean, resolve: (l: string) => void }> = []
  const onLine = (line: string): void => {
    lines.push(line)
    for (const w of [...waiters]) {
      if (w.predicate(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line) }
    }
  }
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', onLine)
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', onLine)
  const waitFor = async (predicate: (line: string) => boolean): Promise<string> => {
    const found = lines.find(predicate)
    if (found !== undefined) return found
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`example ${file} did not print the expected line; output:\n${lines.join('\n')}`)), 20_000)
      waiters.push({ predicate, resolve: l => { clearTimeout(timer); resolve(l) } })
    })
  }
  const ready = await waitFor(l => / listener on /.test(l))
  const port = Number(/:(\d+),/.exec(ready)?.[1])
  return { child, port, lines, waitFor }
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
    const example = await runExample(row.file, row.env)
    t.after(() => { if (example.child.exitCode === null) example.child.kill('SIGKILL') })
    for (const version of ['v1', 'v2'] as const) {
      const accepted: number[] = []
      const front = await startFront({
        target: example.port,
        header: (c: net.Socket) => { accepted.push(c.remotePort as number); return version === 'v1' ? v1HeaderFor(c) : v2HeaderFor(c) },
        delivery: 'with-first-chunk'
      })
      const clientId = `example-${row.listener}-${version}`
      const client = await connectClient({ listener: row.listener, port: front.port, localAddress: '127.0.0.2', clientId, clientCert: row.listener === 'ssl' })
      const line = await example.waitFor(l => l.includes(`"clientId":"${clientId}"`))
      const logged = JSON.parse(line) as { ip: string, port: number, certCn?: string }
      assert.equal(logged.ip, '127.0.0.2')
      assert.equal(logged.port, accepted[0])
      if (row.listener === 'ssl') assert.equal(logged.certCn, 'client-1')
      await endClient(client)
      await front.close()
    }
    example.child.kill('SIGTERM')
    const [code] = await once(example.child, 'exit') as [number | null]
    assert.equal(code, 0)
  })
}
