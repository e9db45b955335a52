// The npm package as published: what `npm pack` ships, publint, attw, and a
// fresh project that installs the packed tarball from disk (its dependencies
// from the npm registry), compiles the examples and a type test against it,
// runs it on loopback and runs its bin. Needs dist/ built (`npm test` builds
// first). The steps live in scripts/pack-check/, run together by
// scripts/pack-check.ts (`npm run check:package`).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { checkShippedContents } from '../../scripts/pack-check/contents.js'
import { runAttw, runPublint } from '../../scripts/pack-check/lint.js'
import { entryTargets, readManifest, type Manifest } from '../../scripts/pack-check/manifest.js'
import { REQUIRED_FILES, checkFileList, pack, type Packed } from '../../scripts/pack-check/pack.js'
import { makeTempDir, removeDir, root } from '../../scripts/pack-check/paths.js'
import { describeRun } from '../../scripts/pack-check/run.js'
import {
  CJS_TSCONFIGS, EXAMPLES, aedesSpec, buildCjsScratch, cjsApp, createAedesScratch, createScratch, runtimeDependencies,
  scratchAedes, smokeScratch, typecheckScratch
} from '../../scripts/pack-check/scratch.js'
import { AEDES_VERSIONS, installedAedes } from '../../scripts/pack-check/aedes-versions.js'
import { spawnProgram } from '../helpers/spawn.js'
import { freePort, startTestHaproxy } from '../helpers/programs.js'
import { connectVia, endClient } from '../helpers/client.js'

const manifest: Manifest = readManifest()
let packDir: string | undefined
let scratchDir: string | undefined
let packed: Packed | undefined

function tarball (): Packed {
  assert.ok(packed !== undefined, 'npm pack failed in the before hook')
  return packed
}

describe('npm package', { timeout: 600_000 }, () => {
  before(async () => {
    packDir = makeTempDir('pack')
    packed = await pack(packDir)
  }, { timeout: 60_000 })

  after(() => {
    removeDir(packDir)
    removeDir(scratchDir)
  })

  test('npm pack ships dist JS and declarations, README, docs, LICENSE, package.json, and nothing else', () => {
    const { files } = tarball()
    for (const f of REQUIRED_FILES) assert.ok(files.includes(f), `${f} is not in the tarball`)
    for (const f of files) {
      assert.doesNotMatch(f, /^(test|src|bench|scripts|examples|\.ci|coverage)\//, `${f} should not be published`)
      assert.doesNotMatch(f, /(^|\/)node_modules\//, `${f} should not be published`)
      assert.ok(!f.endsWith('.ts') || f.endsWith('.d.ts'), `${f}: TypeScript sources should not be published`)
    }
    assert.deepEqual(checkFileList(files, manifest), [])
  })

  test('every file that exports, main and types point to is in the tarball; the library declares no bin (the broker is packages/broker)', () => {
    const { files } = tarball()
    const targets = entryTargets(manifest)
    const fields = targets.map(t => t.field)
    assert.ok(fields.some(f => /^exports\["\."\]\["types"\]$/.test(f)), `exports["."] has no "types" condition: ${fields.join(', ')}`)
    assert.ok(!fields.some(f => f.startsWith('bin')), 'the library declares no bin')
    for (const { field, file } of targets) assert.ok(files.includes(file), `package.json ${field} -> ${file} is not in the tarball`)
    assert.equal(manifest.type, 'module')
    assert.ok(manifest.engines?.node !== undefined, 'engines.node is set')
  })

  test('engines.node is the Node versions whose require() loads the package: require(esm) unflagged, 20.19+ and 22.12+', () => {
    // require(esm) is on by default from Node 20.19.0 (20.x), 22.12.0 (22.x) and 23.0.0; 21.x never
    // had it unflagged. The package is ESM without top-level await, so those versions load it with
    // require() (the CommonJS apps below run it); the ready-to-run broker says the same.
    const range = '>=20.19.0 <21 || >=22.12.0'
    assert.equal(manifest.engines?.node, range)
    const broker = JSON.parse(readFileSync(path.join(root, 'packages', 'broker', 'package.json'), 'utf8')) as Manifest
    assert.equal(broker.engines?.node, range)
    assert.equal((process.features as { require_module?: boolean }).require_module, true,
      `this Node (${process.version}) has require(esm) on`)
  })

  test('shipped files are self-contained: source maps, relative imports, dependencies, bin shebang', () => {
    assert.deepEqual(checkShippedContents(tarball().files, manifest), [])
  })

  test('publint (strict, with suggestions) reports nothing', async () => {
    assert.deepEqual(await runPublint(tarball().tarball), [])
  })

  test('@arethetypeswrong/cli reports no problem but require() of ESM under TypeScript\'s node16 model', async () => {
    // node16-cjs models Node 16, where require() of an ES module throws; the
    // engines are the Node versions where it loads (see ATTW_EXPECTED).
    const { problems, result } = await runAttw(tarball().tarball)
    assert.deepEqual(problems, [], describeRun('attw', result))
    assert.equal(result.code, 0, describeRun('attw', result))
  })

  describe('a fresh project that installs the tarball', () => {
    before(async () => {
      scratchDir = makeTempDir('scratch')
      await createScratch(scratchDir, tarball().tarball)
    }, { timeout: 160_000 })

    test('the installed package holds the same self-contained files', () => {
      assert.ok(scratchDir !== undefined)
      assert.deepEqual(checkShippedContents(tarball().files, manifest, path.join(scratchDir, 'node_modules', manifest.name)), [])
    })

    test(`examples (${EXAMPLES.join(', ')}) and a type test compile with tsc: strict NodeNext, strictest flags, Bundler`, async () => {
      assert.ok(scratchDir !== undefined)
      assert.deepEqual(await typecheckScratch(scratchDir), [])
    })

    test('plain node imports the package, serves a broker with the plugin on 127.0.0.1:0 and reads a PROXY header', async () => {
      assert.ok(scratchDir !== undefined)
      const { result, smoke } = await smokeScratch(scratchDir)
      assert.equal(result.code, 0, describeRun('node smoke.js', result))
      assert.ok(smoke !== undefined, describeRun('node smoke.js printed no JSON', result))
      assert.equal(smoke.proxyProtocol, 'function')
      assert.equal(smoke.withPlugins, 'function')
      assert.equal(smoke.parseHeader, 'function')
      assert.equal(smoke.packageJson, manifest.name, 'the ./package.json subpath is exported')
      assert.equal(smoke.deepImport, 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'internal files are not importable')
      assert.deepEqual(smoke.connack, [0x20, 0x02, 0x00, 0x00], 'CONNACK, accepted')
      assert.equal(smoke.ipAddress, '203.0.113.7', 'client.connDetails.ipAddress is the address from the header')
    })

    test('the installed library brings no logger and no bin: pino, ws and the command are the ready-to-run broker\'s (packages/broker)', async () => {
      assert.ok(scratchDir !== undefined)
      const deps = await runtimeDependencies(scratchDir)
      assert.deepEqual(deps.loggers, [], 'npm ls --omit=dev lists no logger')
      assert.deepEqual(deps.own, ['aedes', 'mqtt-packet', 'zod'], 'the library\'s own runtime dependencies (aedes: its peer)')
      assert.equal(manifest.bin, undefined, 'the library has no bin')
      assert.equal(manifest.dependencies?.pino ?? manifest.dependencies?.ws, undefined)
    })
  })

  // One scratch project per aedes version the peer range admits: the install
  // takes no flags, the usage file compiles strictly against that version's
  // own types, and a client through a real PROXY v2 front (HAProxy on
  // loopback) is seen by the installed package with its own address.
  for (const version of AEDES_VERSIONS) {
    describe(`a fresh project with ${aedesSpec(version)}`, () => {
      let dir: string | undefined
      before(async () => {
        dir = makeTempDir(`scratch-aedes-${version}`)
        await createAedesScratch(dir, tarball().tarball, version)
      }, { timeout: 160_000 })
      after(() => { removeDir(dir) })

      test(`npm install <tarball> ${aedesSpec(version)} succeeds without flags`, () => {
        assert.ok(dir !== undefined)
        assert.equal(scratchAedes(dir), installedAedes(version))
      })

      test('the usage file compiles with tsc, strictest flags and the package\'s .d.ts checked', async () => {
        assert.ok(dir !== undefined)
        assert.deepEqual(await typecheckScratch(dir, ['tsconfig.aedes.json']), [])
      })

      test('the TypeScript apps build as CommonJS: module commonjs (node10 resolution), module nodenext', async () => {
        assert.ok(dir !== undefined)
        assert.deepEqual(await buildCjsScratch(dir), [])
      })

      // The same broker in each module system, language and build: the ESM
      // app (smoke.ts as plain JS), the CommonJS app (require() of the
      // package and of aedes), and the CommonJS TypeScript builds.
      const app = cjsApp(version).replace(/\.ts$/, '.js')
      const programs: ReadonlyArray<[string, string]> = [
        ['ESM JavaScript (import)', 'smoke.js'],
        ['CommonJS JavaScript (require)', path.join('cjs', 'smoke.cjs')],
        ...Object.keys(CJS_TSCONFIGS).map((name): [string, string] =>
          [`CommonJS TypeScript (tsconfig.cjs-${name}.json)`, path.join('cjs', `out-${name}`, app)])
      ]
      for (const [label, file] of programs) {
        test(`${label}: a client through HAProxy send-proxy-v2 is seen by authenticate with its own address`,
          async (t) => {
            assert.ok(dir !== undefined)
            const smoke = spawnProgram(process.execPath, [file], { cwd: dir, t, label: `${file} (aedes ${version})` })
            const listening = JSON.parse(await smoke.waitFor(/^\{"listening":/, 15_000)) as { listening: number }
            const fe = await freePort()
            const hap = await startTestHaproxy(t, {
              frontend: [`bind 127.0.0.1:${fe}`],
              server: `server s1 127.0.0.1:${listening.listening} send-proxy-v2 source 127.0.0.9`
            })
            if (hap === undefined) return
            const c = await connectVia(t, 'tcp', fe)
            const seen = JSON.parse(await smoke.waitFor(/"clientId":/, 5_000)) as Record<string, unknown>
            const expected = { clientId: c.client.options.clientId, ipAddress: '127.0.0.2', port: c.localPort, isProxy: 2 }
            assert.deepEqual(seen, expected)
            await endClient(c.client)
            const exited = await smoke.stop('SIGTERM')
            assert.equal(exited.code, 0, exited.stderr)
          })
      }
    })
  }
})
