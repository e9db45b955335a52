// Runs each example as a user would (a separate process via tsx), puts a
// PROXY-speaking front before it, and connects a real MQTT.js client; checks
// that each one logs its refusals; and runs the "Try it by hand" commands of
// each example's header comment as written (openssl, the one-line node front,
// the MQTT.js command line), changing only the ports.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import type net from 'node:net'
import { tmpdir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nodeScript } from '../helpers/by-hand.js'
import { startFront, v1HeaderFor, v2HeaderFor } from '../helpers/front.js'
import { connectClient, endClient } from '../helpers/client.js'
import { testCerts } from '../helpers/certs.js'
import { freePort, requireProgram } from '../helpers/programs.js'
import { spawnProgram, type Exited, type Spawned } from '../helpers/spawn.js'
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

/** A refusal line, as every example prints it (the project's log vocabulary). */
interface RefusedLine {
  readonly event: 'refused'
  readonly refusedBy: 'proxy'
  readonly listener: ListenerName
  readonly peer: { readonly address: string, readonly port: number, readonly family: number }
  readonly code: string
  readonly reason: string
  readonly clientId?: string
  readonly hint?: string
}

/** The example's next (or an earlier) refusal line with `code`. */
async function refusal (program: Spawned, code: string): Promise<RefusedLine> {
  const line = await program.waitFor(l => l.startsWith('{"event":"refused"') && l.includes(`"code":"${code}"`), 10_000, `a refusal line with ${code}`)
  return JSON.parse(line) as RefusedLine
}

const certs = testCerts()
const rows: Array<{ file: string, listener: ListenerName, env: Record<string, string> }> = [
  { file: 'tcp.ts', listener: 'tcp', env: {} },
  { file: 'tls.ts', listener: 'ssl', env: { TLS_KEY: certs.serverKeyPath, TLS_CERT: certs.serverCertPath, TLS_CA: certs.caPath } },
  { file: 'ws.ts', listener: 'ws', env: {} },
  { file: 'wss.ts', listener: 'wss', env: { TLS_KEY: certs.serverKeyPath, TLS_CERT: certs.serverCertPath } }
]

for (const row of rows) {
  test(`examples/${row.file}: a client behind a PROXY front is seen with its own address; a peer outside TRUSTED_PROXIES is refused and logged`, async (t) => {
    // The front connects from 127.0.0.9: the only proxy the example trusts.
    const example = await runExample(t, row.file, { ...row.env, TRUSTED_PROXIES: '127.0.0.9' })
    assert.ok(example.program.lines.some(l => l.endsWith('PROXY protocol required from 127.0.0.9')), example.program.tail())
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
      const logged = JSON.parse(line) as { ipAddress: string, port: number, peer: { address: string }, cn?: string }
      assert.equal(logged.ipAddress, '127.0.0.2')
      assert.equal(logged.port, accepted[0])
      assert.equal(logged.peer.address, '127.0.0.9')
      if (row.listener === 'ssl') assert.equal(logged.cn, 'client-1')
      await endClient(client)
      await front.close()
    }

    // Straight to the example from 127.0.0.2, which is no trusted proxy.
    await assert.rejects(connectClient({ listener: row.listener, port: example.port, localAddress: '127.0.0.2', clientId: 'direct', clientCert: row.listener === 'ssl' }))
    const refused = await refusal(example.program, 'PROXY_ERR_UNTRUSTED')
    assert.equal(refused.refusedBy, 'proxy')
    assert.equal(refused.listener, row.listener)
    assert.equal(refused.peer.address, '127.0.0.2')
    assert.equal(refused.peer.family, 4)
    assert.ok(refused.reason.includes('127.0.0.2'), refused.reason)

    const { code } = await example.program.stop('SIGTERM')
    assert.equal(code, 0)
  })
}

/** The `$ ` lines of an example's header comment. */
function commandsOf (file: string): string[] {
  const text = readFileSync(join(root, 'examples', file), 'utf8')
  return [...text.matchAll(/^\/\/ {3}\$ (.+)$/gm)].map(m => m[1] as string)
}

/** `A=1 B=2 npx tsx examples/x.ts` → { A: '1', B: '2' }. */
function envOf (command: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const word of command.split(' ')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(word)
    if (m === null) break
    env[m[1] as string] = m[2] as string
  }
  return env
}

const byHand: Array<{ file: string, listener: ListenerName, clientCert: boolean }> = [
  { file: 'tcp.ts', listener: 'tcp', clientCert: false },
  { file: 'tls.ts', listener: 'ssl', clientCert: true },
  { file: 'ws.ts', listener: 'ws', clientCert: false },
  { file: 'wss.ts', listener: 'wss', clientCert: false }
]

for (const row of byHand) {
  test(`examples/${row.file}: the "Try it by hand" commands work as written`, async (t) => {
    const commands = commandsOf(row.file)
    const openssl = commands.filter(c => c.startsWith('openssl '))
    const start = commands.filter(c => c.endsWith(`npx tsx examples/${row.file}`))
    const fronts = commands.filter(c => c.startsWith('node -e '))
    const clients = commands.filter(c => c.startsWith('npx mqtt pub '))
    assert.equal(start.length, 1, 'one command starts the example')
    assert.equal(fronts.length, 1, 'one node -e front')
    assert.equal(clients.length, 2, 'two client commands: through the front, and around it')
    const [throughFront, aroundFront] = clients as [string, string]
    assert.equal(openssl.length, row.listener === 'ssl' ? 5 : row.listener === 'wss' ? 3 : 0, 'openssl commands for the certificates TLS needs')

    const dir = mkdtempSync(join(tmpdir(), 'aedes-pp-by-hand-'))
    t.after(() => { rmSync(dir, { recursive: true, force: true }) })
    // The certificates, made by the comment's own commands, in the directory the commands run in.
    if (openssl.length > 0) {
      const bin = requireProgram(t, 'openssl', 'openssl')
      if (bin === undefined) return
      for (const command of openssl) {
        const made: Exited = await spawnProgram(bin, command.split(' ').slice(1), { cwd: dir, label: command, t }).done
        assert.equal(made.code, 0, `${command}\n${made.stderr}`)
      }
    }

    // The example: its variables as written, files relative to that directory, any free port.
    const written = envOf(start[0] as string)
    const examplePort = written.PORT
    const frontPort = /\.listen\((\d+),/.exec(fronts[0] as string)?.[1]
    assert.ok(examplePort !== undefined && frontPort !== undefined, 'the example and the front name their ports')
    const env = Object.fromEntries(Object.entries(written).map(([k, v]) => [k, k.startsWith('TLS_') && !isAbsolute(v) ? join(dir, v) : v]))
    const example = await runExample(t, row.file, { ...env, PORT: '0' })
    const port = String(await freePort())
    const ports = (text: string): string => text
      .replace(new RegExp(`\\b${examplePort}\\b`, 'g'), String(example.port))
      .replace(new RegExp(`\\b${frontPort}\\b`, 'g'), port)

    const front = spawnProgram(process.execPath, ['-e', nodeScript(ports(fronts[0] as string))], { cwd: dir, label: 'the node -e front', t })
    await front.waitFor(`PROXY front on 127.0.0.1:${port}`)

    // `npx mqtt` is node_modules/.bin/mqtt, run here without npx's wrapper process.
    const mqttBin = join(root, 'node_modules/.bin/mqtt')
    const through = spawnProgram(mqttBin, ports(throughFront).split(' ').slice(2), { cwd: dir, label: throughFront, t })
    const published = await through.done
    assert.equal(published.code, 0, `${throughFront}\n${published.stdout}${published.stderr}`)
    const line = await example.program.waitFor('"clientId":"by-hand"', 10_000)
    const logged = JSON.parse(line) as { ipAddress: string, port: number, peer: { address: string }, cn?: string, certAuthorized?: boolean }
    assert.equal(logged.ipAddress, '198.51.100.7', 'the address from the front\'s header')
    assert.equal(logged.port, 50000)
    assert.equal(logged.peer.address, '127.0.0.1')
    if (row.clientCert) {
      assert.equal(logged.cn, 'client-1')
      assert.equal(logged.certAuthorized, true)
    }
    // The line the comment shows is what the example printed, field for field (`...` elides the rest).
    const shown = /^\/\/ {3}(\{"event":"authenticate".*)$/m.exec(readFileSync(join(root, 'examples', row.file), 'utf8'))?.[1]
    assert.ok(shown !== undefined, 'the comment shows the authenticate line')
    assertShown(JSON.parse(shown.replace(/,\.\.\.\}/g, '}')) as Record<string, unknown>, JSON.parse(line) as Record<string, unknown>, row.file)

    const bypass = spawnProgram(mqttBin, ports(aroundFront).split(' ').slice(2), { cwd: dir, label: aroundFront, t })
    const refused = await refusal(example.program, 'PROXY_ERR_NOT_PROXY')
    await bypass.stop('SIGTERM')
    assert.equal(refused.refusedBy, 'proxy')
    assert.equal(refused.listener, row.listener)
    assert.equal(refused.peer.address, '127.0.0.1')
    assert.ok(refused.hint?.includes(`the ${row.listener} listener requires a PROXY protocol header`), refused.hint)
    if (row.listener === 'tcp') assert.equal(refused.clientId, 'bypass')

    await front.stop('SIGTERM')
    const { code } = await example.program.stop('SIGTERM')
    assert.equal(code, 0)
  })
}

/** Every field of `shown` (nested objects too) is the same in `logged`. */
function assertShown (shown: Record<string, unknown>, logged: Record<string, unknown>, where: string): void {
  for (const [key, value] of Object.entries(shown)) {
    if (typeof value === 'object' && value !== null) assertShown(value as Record<string, unknown>, (logged[key] ?? {}) as Record<string, unknown>, `${where} ${key}`)
    else assert.deepEqual(logged[key], value, `${where}: the comment shows ${key}: ${JSON.stringify(value)}, the example printed ${JSON.stringify(logged[key])}`)
  }
}
