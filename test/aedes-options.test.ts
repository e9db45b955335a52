// aedes' own proxy options (trustProxy, trustedProxies, decodeProtocol):
// every aedes version stores them on the broker and nothing in aedes reads
// them, so a broker made with them is no safer than one without. The PROXY
// plugin says so when it is installed on such a broker, on each aedes
// version (test/helpers/aedes-versions.ts makes the broker as its users do).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { AedesOptions } from 'aedes'
import { proxyProtocol } from '../src/plugin.js'
import { withPlugins } from '../src/use.js'
import type { Logger } from '../src/options.js'
import { AEDES_VERSIONS, createBroker, type AedesVersion } from './helpers/aedes-versions.js'

const CODE = 'PROXY_WARN_AEDES_OPTIONS'

interface Line { level: keyof Logger, obj: Record<string, unknown>, msg: string | undefined }
function recordingLogger (): { logger: Logger, lines: Line[] } {
  const lines: Line[] = []
  const at = (level: keyof Logger) => (obj: object, msg?: string): void => {
    lines.push({ level, obj: obj as Record<string, unknown>, msg })
  }
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines }
}

async function brokerWith (t: { after: (fn: () => Promise<void>) => void }, version: AedesVersion,
  options: Partial<AedesOptions>): Promise<ReturnType<typeof withPlugins>> {
  const broker = await createBroker(version, options)
  t.after(async () => { await new Promise<void>(resolve => broker.close(() => resolve())) })
  return withPlugins(broker)
}

/** The process warnings emitted while the test runs, kept until it ends. */
function processWarnings (t: { after: (fn: () => void) => void }): Error[] {
  const warnings: Error[] = []
  const onWarning = (w: Error): void => { warnings.push(w) }
  process.on('warning', onWarning)
  t.after(() => { process.off('warning', onWarning) })
  return warnings
}

const SET: ReadonlyArray<[string, Partial<AedesOptions>]> = [
  ['trustProxy: true', { trustProxy: true }],
  ['trustedProxies', { trustedProxies: ['10.0.0.1'] }],
  ['decodeProtocol', { decodeProtocol: () => ({ isProxy: 0 }) }]
]

for (const version of AEDES_VERSIONS) {
  describe(`aedes ${version}: aedes' own proxy options`, () => {
    for (const [name, options] of SET) {
      test(`${name}: one warn line through the plugin's logger says aedes ignores it and what to set instead`,
        async (t) => {
          const broker = await brokerWith(t, version, options)
          const { logger, lines } = recordingLogger()
          broker.use(proxyProtocol({ proxyEnabled: true, logger }))
          assert.equal(lines.length, 1, JSON.stringify(lines))
          const [line] = lines
          assert.equal(line?.level, 'warn')
          assert.equal(line?.obj.code, CODE)
          assert.deepEqual(line?.obj.aedesOptions, [name.replace(/:.*/, '')])
          assert.match(line?.msg ?? '', /read by nothing in aedes/)
          assert.match(line?.msg ?? '', /proxyProtocol\(\{ proxyEnabled, trustedProxies \}\)/)
        })
    }

    test('all three set, no logger: one process warning naming each, with the code', async (t) => {
      const broker = await brokerWith(t, version, {
        trustProxy: true, trustedProxies: ['10.0.0.0/8'], decodeProtocol: () => ({ isProxy: 0 })
      })
      const warnings = processWarnings(t)
      broker.use(proxyProtocol({ proxyEnabled: true }))
      // process.emitWarning delivers on the next tick.
      await new Promise(resolve => setImmediate(resolve))
      const ours = warnings.filter(w => (w as NodeJS.ErrnoException).code === CODE)
      assert.equal(ours.length, 1)
      assert.equal(ours[0]?.name, 'AedesProxyProtocolWarning')
      assert.match(ours[0]?.message ?? '', /created with trustProxy, trustedProxies,? and decodeProtocol:/)
    })

    test('none set (aedes\' defaults): no warning', async (t) => {
      const broker = await brokerWith(t, version, {})
      const { logger, lines } = recordingLogger()
      const warnings = processWarnings(t)
      broker.use(proxyProtocol({ proxyEnabled: true, logger }))
      await new Promise(resolve => setImmediate(resolve))
      assert.deepEqual(lines, [])
      assert.deepEqual(warnings.filter(w => (w as NodeJS.ErrnoException).code === CODE), [])
    })

    test('none set (aedes\' defaults), no logger: no process warning', async (t) => {
      const broker = await brokerWith(t, version, {})
      const warnings = processWarnings(t)
      broker.use(proxyProtocol({ proxyEnabled: true }))
      await new Promise(resolve => setImmediate(resolve))
      assert.deepEqual(warnings.filter(w => (w as NodeJS.ErrnoException).code === CODE), [])
    })
  })
}
