// Keeps the README and docs/ true: what they quote is what the code says.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nodeScript, shellCommands } from '../helpers/by-hand.js'
import { startNpmBroker } from '../helpers/npm-start.js'
import { freePort } from '../helpers/programs.js'
import { spawnProgram } from '../helpers/spawn.js'
import { PROXY_ERROR_CODES } from '../../src/protocol/errors.js'
import { misconfigurationHint } from '../../src/hints.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const read = (doc: string): string => readFileSync(`${root}${doc}`, 'utf8')
const api = read('docs/api.md')
/** README.md and every docs/*.md, together. */
const everything = ['README.md', ...readdirSync(`${root}docs`).filter(f => f.endsWith('.md')).map(f => `docs/${f}`)]
  .map(read).join('\n')

/** The text of `doc` from `heading` to the next heading of its level or higher. */
function section (doc: string, heading: string): string {
  const start = doc.indexOf(`\n${heading}\n`)
  assert.ok(start >= 0, heading)
  const level = heading.indexOf(' ')
  const next = doc.slice(start + heading.length + 2).search(new RegExp(`^#{1,${level}} `, 'm'))
  return next < 0 ? doc.slice(start) : doc.slice(start, start + heading.length + 2 + next)
}

test('every error code is in the error-code table of docs/api.md', () => {
  for (const code of [...PROXY_ERROR_CODES, 'PROXY_ERR_OPTIONS', 'PROXY_ERR_USAGE']) {
    assert.match(api, new RegExp(`\\| \`${code}\` \\|`), code)
  }
})

test('the error-code section counts the refusal codes and names every code that carries a hint', () => {
  const codes = section(api, '## Error codes')
  // The count it gives is the number of refusal codes.
  const count = PROXY_ERROR_CODES.length
  assert.ok(codes.includes(`first ${count} \``), `the section counts ${count} refusal codes`)
  // The first sentence of the paragraph about `hint` names exactly the codes that carry one.
  const hintParagraph = codes.split('\n\n').find(p => p.startsWith('A `hint`'))
  assert.ok(hintParagraph !== undefined, 'the section says which refusals carry a hint')
  const named = hintParagraph.split(/\.\s/)[0] as string // its first sentence
  const hinted = PROXY_ERROR_CODES.filter(code => misconfigurationHint(code, 'tcp', undefined) !== undefined)
  assert.deepEqual([...named.matchAll(/`(PROXY_ERR_[A-Z0-9_]+)`/g)].map(m => m[1]).sort(), [...hinted].sort())
})

test('the troubleshooting table of docs/load-balancers.md quotes the hints word for word', () => {
  const troubleshooting = section(read('docs/load-balancers.md'), '## Troubleshooting')
  const hints = [
    misconfigurationHint('PROXY_ERR_NOT_PROXY', 'tcp', 'an MQTT CONNECT from client "sensor-42"'),
    misconfigurationHint('PROXY_ERR_UNEXPECTED_HEADER', 'tcp', undefined),
    misconfigurationHint('PROXY_ERR_NOT_ATTACHED', 'ssl', undefined)
  ]
  for (const hint of hints) {
    assert.ok(hint !== undefined && troubleshooting.includes(`\`${hint}\``), `the table lacks: ${String(hint)}`)
  }
})

/** `A_{B,C}_D` as `A_B_D` and `A_C_D`. */
function expand (name: string): string[] {
  const m = /\{([^{}]+)\}/.exec(name)
  if (m === null) return [name]
  const [before, after] = [name.slice(0, m.index), name.slice(m.index + m[0].length)]
  return (m[1] as string).split(',').flatMap(choice => expand(before + choice + after))
}

test('every variable `npm start -- --help` lists is a row of docs/broker.md\'s variable table', () => {
  const help = execFileSync(process.execPath, ['packages/broker/dist/broker.js', '--help'],
    { cwd: root, encoding: 'utf8' })
  const names = [...help.matchAll(/^ {2}([A-Z_]+) /gm)].map(m => m[1] as string)
  assert.ok(names.length >= 20)
  const table = section(read('docs/broker.md'), '## Variables')
  const rows = table.split('\n').filter(l => /^\| `/.test(l))
  const rowNames = (row: string): string[] => [...(row.split(' | ')[0] as string).matchAll(/`([A-Z][A-Z0-9_{},]*)`/g)]
    .flatMap(m => expand(m[1] as string))
  const documented = new Set(rows.flatMap(rowNames))
  for (const name of names) assert.ok(documented.has(name), `${name} is not in docs/broker.md's table`)
})

/** The bodies of the fenced blocks of `lang` in `text` (by default the README and docs/). */
function fencedBlocks (lang: string, text = everything): string[] {
  return [...text.matchAll(new RegExp(`^\`\`\`${lang}\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map(m => m[1] as string)
}

test('every proxyProtocol() in the code of the README and docs/ that turns PROXY on names trustedProxies ' +
  '(a snippet pasted as is is not spoofable)', () => {
  const calls = fencedBlocks('ts').flatMap(block => [...block.matchAll(/proxyProtocol\(\{[^\n]*\}\)/g)].map(m => m[0]))
  const enabling = calls.filter(c => /proxyEnabled: (true|'optional')/.test(c))
  assert.ok(enabling.length >= 2, calls.join('\n'))
  for (const call of enabling) assert.match(call, /trustedProxies: \[/, call)
})

test('every npm start line in the README and docs/ that turns PROXY on ' +
  'sets MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES', () => {
  const starts = fencedBlocks('sh').map(b => b.replace(/\\\n/g, ' ')).flatMap(b => b.split('\n'))
    .filter(l => /\bnpm start\b/.test(l))
  const enabling = starts.filter(l => /MQTT_PROXY_PROTOCOL_ENABLED=(true|optional)\b/.test(l))
  assert.ok(enabling.length >= 1, starts.join('\n'))
  for (const line of enabling) assert.match(line, /MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES=\S+/, line)
})

test('the README\'s "Try it on one machine" works as printed: the quick start saved as broker.mts, the one-line ' +
  'PROXY front, a client through it seen with the header\'s address, one around it refused', async (t) => {
  const readme = read('README.md')
  const [code] = fencedBlocks('ts', section(readme, '## Quick start'))
  const tryIt = section(readme, '### Try it on one machine')
  const [commands] = fencedBlocks('sh', tryIt)
  const [output] = fencedBlocks('text', tryIt)
  assert.ok(code !== undefined && commands !== undefined && output !== undefined, 'the quick start, the commands, the output')
  const [start, front, through, around, ...more] = shellCommands(commands)
  assert.deepEqual([start, more], ['npx tsx broker.mts', []], 'the broker, the front, two clients')
  assert.ok(front !== undefined && through !== undefined && around !== undefined)
  for (const client of [through, around]) assert.match(client, /^npx mqtt pub /)

  // Inside the project, so `aedes-proxy-protocol` (built) and `aedes` resolve as in a user's.
  const dir = join(root, '.tmp', `readme-try-${process.pid}`)
  mkdirSync(dir, { recursive: true })
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  // Only the ports change: the broker's 1883 and the front's 1884, to free ones.
  const brokerPort = String(await freePort())
  let frontPort = brokerPort
  while (frontPort === brokerPort) frontPort = String(await freePort())
  const ports = (text: string): string => text.replace(/\b1883\b/g, brokerPort).replace(/\b1884\b/g, frontPort)
  const shown = ports(output).trim().split('\n')
  writeFileSync(join(dir, 'broker.mts'), ports(code))

  // `npx tsx` and `npx mqtt` are node_modules/.bin's, run here without npx's wrapper process.
  const broker = spawnProgram(process.execPath, ['--import', 'tsx', 'broker.mts'], { cwd: dir, label: 'npx tsx broker.mts', t })
  await broker.waitFor(shown[0] as string, 20_000)
  const proxyFront = spawnProgram(process.execPath, ['-e', nodeScript(ports(front))], { cwd: dir, label: 'the front', t })
  await proxyFront.waitFor(`PROXY front on 127.0.0.1:${frontPort}`)
  const mqtt = join(root, 'node_modules/.bin/mqtt')
  const published = await spawnProgram(mqtt, ports(through).split(' ').slice(2), { cwd: dir, label: through, t }).done
  assert.equal(published.code, 0, `${through}\n${published.stdout}${published.stderr}`)
  const bypass = spawnProgram(mqtt, ports(around).split(' ').slice(2), { cwd: dir, label: around, t })
  // The lines shown are the broker's first lines (MQTT.js retries the refused client, so more follow).
  await broker.waitFor(shown[shown.length - 1] as string, 10_000, 'the refusal the README shows')
  assert.deepEqual(broker.lines.filter(l => l !== '').slice(0, shown.length), shown, broker.tail())
  await bypass.stop('SIGTERM')
  await proxyFront.stop('SIGTERM')
  await broker.stop('SIGTERM')
})

interface LogLine { readonly event: string, readonly listener?: string, readonly trustedProxies?: string[], readonly [field: string]: unknown }

test('the start-up lines the README and docs/broker.md show are the broker\'s, field for field: only the time, ' +
  'the pid, the versions and the address and port (loopback here) differ', async (t) => {
  const shown = [
    ...fencedBlocks('text', section(read('README.md'), '## The ready-to-run broker')),
    ...fencedBlocks('text', section(read('docs/broker.md'), '## Start-up and errors'))
  ].flatMap(block => block.split('\n')).filter(l => l.startsWith('{')).map(l => JSON.parse(l) as LogLine)
  assert.ok(shown.some(l => l.event === 'startup') && shown.some(l => l.event === 'listening'), 'both kinds shown')
  for (const trusted of new Set(shown.map(l => l.trustedProxies?.join(',')).filter(l => l !== undefined))) {
    const env = { MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES: trusted, LISTENER_TCP_BIND_PORT: '0' }
    const broker = startNpmBroker(t, { ...env, LISTENER_WS_ENABLED: 'true', LISTENER_WS_BIND_ADDRESS: '127.0.0.1', LISTENER_WS_BIND_PORT: '0' })
    for (const line of shown.filter(l => l.event === 'startup' || l.trustedProxies?.join(',') === trusted)) {
      const key = line.listener === undefined ? `"event":"${line.event}"` : `"listener":"${line.listener}"`
      const printed = JSON.parse(await broker.waitFor(key, 20_000)) as LogLine
      const differ = ['time', 'pid', 'version', 'bindAddress', 'bindPort']
      const at = (l: LogLine): string => `${String(l.bindAddress)}:${String(l.bindPort)}`
      const expected = {
        ...line,
        ...Object.fromEntries(differ.filter(k => k in line).map(k => [k, printed[k]])),
        msg: line.event === 'startup' ? `starting ${String(printed.version)}` : String(line.msg).replace(at(line), at(printed))
      }
      assert.deepEqual(printed, expected)
    }
    await broker.stop('SIGTERM')
  }
})
