// docs/migrating.md as printed: each ```js block names its file on its first
// line (before.cjs, after.cjs, after.mjs, fields.cjs) and runs with plain
// node against aedes 0.51.3 (a node_modules/aedes beside the files points at
// the repo's aedes-0.51 alias), aedes-server-factory and this package (built,
// by its name), only its port changed. A real HAProxy in front sends PROXY v2;
// an MQTT.js client from 127.0.0.2 must be seen with its own address by each,
// and the decoder's fields must have the same values under this package as
// under aedes-server-factory with aedes-protocol-decoder.
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connectVia, endClient } from '../helpers/client.js'
import { freePort, startTestHaproxy } from '../helpers/programs.js'
import { spawnProgram, type Spawned } from '../helpers/spawn.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const guide = readFileSync(join(root, 'docs', 'migrating.md'), 'utf8')

/** The ```js blocks of the guide by the file name on their first line (`// after.cjs`). */
const blocks = new Map([...guide.matchAll(/^```js\n\/\/ (\S+)\n([\s\S]*?)^```$/gm)]
  .map(m => [m[1] as string, m[2] as string]))

/** Writes the guide's blocks into a folder of the repo whose `aedes` is aedes 0.51 (removed after the tests). */
function project (): string {
  const dir = join(root, '.tmp', `migrating-${process.pid}`)
  mkdirSync(join(dir, 'node_modules'), { recursive: true })
  symlinkSync(join(root, 'node_modules', 'aedes-0.51'), join(dir, 'node_modules', 'aedes'), 'dir')
  return dir
}

/** Runs the block `file` on a free port behind HAProxy (send-proxy-v2), connects one client; what it printed. */
async function runBlock (t: TestContext, dir: string, file: string):
Promise<{ line: string, clientId: string, localPort: number, front: number }> {
  const code = blocks.get(file)
  assert.ok(code !== undefined, `docs/migrating.md has a block named ${file}`)
  assert.equal(code.match(/\b1883\b/g)?.length, 1, `${file} listens on 1883, once`)
  const port = await freePort()
  writeFileSync(join(dir, file), code.replace(/\b1883\b/, String(port)))
  const broker: Spawned = spawnProgram(process.execPath, [file], { cwd: dir, t, label: file })
  const fe = await freePort()
  const hap = await startTestHaproxy(t, {
    frontend: [`bind 127.0.0.1:${fe}`],
    server: `server s1 127.0.0.1:${port} send-proxy-v2`
  })
  assert.ok(hap !== undefined, 'HAProxy runs')
  const c = await connectVia(t, 'tcp', fe)
  const clientId = c.client.options.clientId ?? ''
  const line = await broker.waitFor(/^\{"ipAddress":|^\S+ from /, 10_000)
  await endClient(c.client)
  await broker.stop('SIGTERM')
  return { line, clientId, localPort: c.localPort, front: fe }
}

describe('docs/migrating.md, its code run as printed against aedes 0.51.3 behind HAProxy', () => {
  const dir = project()
  const cleanup = (): void => { rmSync(dir, { recursive: true, force: true }) }
  process.once('exit', cleanup)

  test('the guide has the blocks the test runs, and no others', () => {
    assert.deepEqual([...blocks.keys()].sort(), ['after.cjs', 'after.mjs', 'before.cjs', 'fields.cjs'])
  })

  for (const file of ['before.cjs', 'after.cjs', 'after.mjs']) {
    test(`${file}: preConnect sees the client's own address`, async (t) => {
      const { line, clientId } = await runBlock(t, dir, file)
      assert.equal(line, `${clientId} from 127.0.0.2`)
    })
  }

  test('fields.cjs: the decoder\'s fields have the values aedes-server-factory with aedes-protocol-decoder gives',
    async (t) => {
      const fields = blocks.get('fields.cjs') ?? ''
      const ours = await runBlock(t, dir, 'fields.cjs')
      // before.cjs with fields.cjs's FIELDS and preConnect body: aedes-server-factory's trustProxy, which
      // reads the header with aedes-protocol-decoder.
      const list = /^const FIELDS = .*$/m.exec(fields)?.[0]
      const body = /^ {4}const d = [\s\S]*?(?=^ {4}done)/m.exec(fields)?.[0]
      assert.ok(list !== undefined && body !== undefined, 'fields.cjs has FIELDS and a preConnect reading them')
      const before = (blocks.get('before.cjs') ?? '').replace(/^ {4}console\.log.*\n/m, body)
      blocks.set('before-fields.cjs', `${list}\n${before}`)
      const theirs = await runBlock(t, dir, 'before-fields.cjs')
      blocks.delete('before-fields.cjs')
      const seen = (run: typeof ours): Record<string, unknown> => JSON.parse(run.line) as Record<string, unknown>
      // The client's and the front's ports are this run's.
      const expected = (run: typeof ours): Record<string, unknown> => ({
        ...seen(theirs), port: run.localPort, serverPort: run.front
      })
      assert.deepEqual(seen(theirs), expected(theirs), 'aedes-protocol-decoder')
      assert.deepEqual(seen(ours), expected(ours), 'this package')
      assert.equal(seen(ours).ipAddress, '127.0.0.2')
      assert.equal(seen(ours).isProxy, 2)
    })
})
