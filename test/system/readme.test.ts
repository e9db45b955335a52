// Keeps the README true: what it quotes is what the code says.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { PROXY_ERROR_CODES } from '../../src/protocol/errors.js'
import { misconfigurationHint } from '../../src/hints.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const readme = readFileSync(`${root}README.md`, 'utf8')

test('every error code is in the README table', () => {
  for (const code of [...PROXY_ERROR_CODES, 'PROXY_ERR_OPTIONS', 'PROXY_ERR_USAGE']) {
    assert.match(readme, new RegExp(`\\| \`${code}\` \\|`), code)
  }
})

test('the error-code section counts the refusal codes and names every code that carries a hint', () => {
  assert.match(readme, new RegExp(`one of the first ${PROXY_ERROR_CODES.length} \`code\`s`))
  const hinted = PROXY_ERROR_CODES.filter(code => misconfigurationHint(code, 'tcp', undefined) !== undefined)
  const named = /A `hint` \(what to change\) comes with the refusals that say a setting is wrong whatever the peer:\n([^]*?), logged at `error`/.exec(readme)?.[1]
  assert.ok(named !== undefined, 'the README says which refusals carry a hint')
  assert.deepEqual([...named.matchAll(/`(PROXY_ERR_[A-Z0-9_]+)`/g)].map(m => m[1]).sort(), [...hinted].sort())
})

test('the troubleshooting table quotes the hints word for word', () => {
  const hints = [
    misconfigurationHint('PROXY_ERR_NOT_PROXY', 'tcp', 'an MQTT CONNECT from client "sensor-42"'),
    misconfigurationHint('PROXY_ERR_UNEXPECTED_HEADER', 'tcp', undefined),
    misconfigurationHint('PROXY_ERR_NOT_ATTACHED', 'ssl', undefined)
  ]
  for (const hint of hints) {
    assert.ok(hint !== undefined && readme.includes(`\`${hint}\``), `README lacks: ${String(hint)}`)
  }
})

test('every variable of the ready-to-run broker is documented', () => {
  const help = execFileSync(process.execPath, ['packages/broker/dist/broker.js', '--help'], { cwd: root, encoding: 'utf8' })
  const names = [...help.matchAll(/^ {2}([A-Z_]+) /gm)].map(m => m[1] as string)
  assert.ok(names.length >= 20)
  for (const name of names) {
    const listenerForm = name.replace(/^MQTT_(TCP|SSL|WS|WSS)_/, 'MQTT_{TCP,SSL,WS,WSS}_')
    const suffix = /^LISTENER_(TCP|SSL|WS|WSS)_/.exec(name) !== null ? name.replace(/^LISTENER_[A-Z]+/, '') : undefined
    const documented = readme.includes(name) || readme.includes(listenerForm) ||
      (suffix !== undefined && readme.includes(name.replace(suffix, '')) && readme.includes(suffix))
    assert.ok(documented, `${name} is not in the README`)
  }
})

/** The bodies of the README's fenced blocks of `lang`. */
function fencedBlocks (lang: string): string[] {
  return [...readme.matchAll(new RegExp(`^\`\`\`${lang}\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map(m => m[1] as string)
}

test('every proxyProtocol() in the README\'s code that turns PROXY on names trustedProxies (a snippet pasted as is is not spoofable)', () => {
  const calls = fencedBlocks('ts').flatMap(block => [...block.matchAll(/proxyProtocol\(\{[^\n]*\}\)/g)].map(m => m[0]))
  const enabling = calls.filter(c => /proxyEnabled: (true|'optional')/.test(c))
  assert.ok(enabling.length >= 2, calls.join('\n'))
  for (const call of enabling) assert.match(call, /trustedProxies: \[/, call)
})

test('every npm start line in the README that turns PROXY on sets MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES', () => {
  const starts = fencedBlocks('sh').map(b => b.replace(/\\\n/g, ' ')).flatMap(b => b.split('\n')).filter(l => /\bnpm start\b/.test(l))
  const enabling = starts.filter(l => /MQTT_PROXY_PROTOCOL_ENABLED=(true|optional)\b/.test(l))
  assert.ok(enabling.length >= 1, starts.join('\n'))
  for (const line of enabling) assert.match(line, /MQTT_PROXY_PROTOCOL_TRUSTED_PROXIES=\S+/, line)
})
