// Checks the npm package as it is published: what `npm pack` ships, publint,
// @arethetypeswrong/cli, and a fresh project that installs the packed
// tarball, compiles the examples and a type test against it, runs it, and
// checks it brings no logger. The steps live in pack-check/; the package test
// (package.test.ts) runs the same steps one by one.
//
//   npm run build && node --import tsx scripts/pack-check.ts             # everything
//   npm run build && node --import tsx scripts/pack-check.ts --no-install # no registry install
//   ... --keep                                                           # keep the temp dirs
//
// `npm pack` runs with --ignore-scripts: it packs the dist/ that is there,
// so build first (`npm test` does).
//
//   pack-check/run.ts       running programs (no shell, timeouts, a clean npm environment)
//   pack-check/paths.ts     the repo root, temporary directories
//   pack-check/manifest.ts  package.json and its entry points
//   pack-check/pack.ts      npm pack and the shipped file list
//   pack-check/contents.ts  source maps, imports and shebangs inside the shipped files
//   pack-check/lint.ts      publint and attw
//   pack-check/scratch.ts   the scratch project: install, tsc, smoke test, bin; one per aedes version
//   pack-check/aedes-versions.ts  the aedes versions (0.51, 1, 2) and what the repo installs of each
//   pack-check/scratch/     the scratch project's sources (type-checked by `npm run typecheck`);
//                           scratch/cjs/ the CommonJS apps (smoke.cjs, TypeScript built as CommonJS)
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { checkShippedContents } from './pack-check/contents.js'
import { runAttw, runPublint } from './pack-check/lint.js'
import { readManifest } from './pack-check/manifest.js'
import { checkFileList, pack } from './pack-check/pack.js'
import { makeTempDir, removeDir } from './pack-check/paths.js'
import { describeRun } from './pack-check/run.js'
import {
  aedesSpec, buildCjsScratch, createAedesScratch, createScratch, runtimeDependencies, smokeScratch, typecheckScratch
} from './pack-check/scratch.js'
import { AEDES_VERSIONS } from './pack-check/aedes-versions.js'

async function main (argv: string[]): Promise<number> {
  const install = !argv.includes('--no-install')
  const keep = argv.includes('--keep')
  const packDir = makeTempDir('pack')
  const scratch = install ? makeTempDir('scratch') : undefined
  const problems: string[] = []
  const step = (name: string, found: string[]): void => {
    console.log(`${found.length === 0 ? 'ok  ' : 'FAIL'} ${name}`)
    for (const p of found) console.log(`     ${p.replace(/\n/g, '\n     ')}`)
    problems.push(...found)
  }
  try {
    const manifest = readManifest()
    const packed = await pack(packDir)
    const { filename, size, unpackedSize } = packed.entry
    console.log(`packed ${filename}: ${packed.files.length} files, ${size} bytes (${unpackedSize} unpacked)`)
    step('file list', checkFileList(packed.files, manifest))
    step('shipped contents', checkShippedContents(packed.files, manifest))
    step('publint --strict', await runPublint(packed.tarball))
    step('attw --profile esm-only', (await runAttw(packed.tarball)).problems)
    if (scratch !== undefined) {
      await createScratch(scratch, packed.tarball)
      const installed = path.join(scratch, 'node_modules', manifest.name)
      step('installed package contents', checkShippedContents(packed.files, manifest, installed))
      step('examples and type test compile (tsc)', await typecheckScratch(scratch))
      const { result, smoke } = await smokeScratch(scratch)
      const smoked = result.code === 0 && smoke?.proxyProtocol === 'function' && smoke.ipAddress === '203.0.113.7'
      step('runtime smoke', smoked ? [] : [describeRun('node smoke.js', result)])
      const deps = await runtimeDependencies(scratch)
      step('no logger at run time (npm ls --omit=dev)',
        deps.loggers.map(name => `the installed library brings ${name}`))
      // One project per aedes version: installed without flags, compiled strictly. The client through a
      // real PROXY v2 front (HAProxy) runs in test/system/package.test.ts.
      for (const version of AEDES_VERSIONS) {
        const dir = path.join(scratch, `aedes-${version}`)
        try {
          await createAedesScratch(dir, packed.tarball, version)
          step(`npm install <tarball> ${aedesSpec(version)}, strict tsc`,
            await typecheckScratch(dir, ['tsconfig.aedes.json']))
          step(`aedes ${version}: the CommonJS TypeScript apps build (module commonjs, module nodenext)`,
            await buildCjsScratch(dir))
        } catch (err) {
          step(`npm install <tarball> ${aedesSpec(version)}`, [String(err instanceof Error ? err.message : err)])
        }
      }
    }
  } catch (err) {
    problems.push(String(err instanceof Error ? err.message : err))
    console.log(`FAIL ${String(err instanceof Error ? err.message : err)}`)
  } finally {
    if (keep) console.log(`kept ${packDir}${scratch !== undefined ? ` and ${scratch}` : ''}`)
    else { removeDir(packDir); removeDir(scratch) }
  }
  console.log(problems.length === 0 ? 'package check passed' : `package check failed: ${problems.length} problem(s)`)
  return problems.length === 0 ? 0 : 1
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2))
}
