// The plugin as it ships: the JavaScript tsc emits from src/, not src/ run
// through tsx. (tsx's esbuild transform wraps every inner function in a
// `__name(fn, "name")` call each time it is created, which costs per call in
// closure-heavy code and would be charged to the plugin.) run.ts compiles
// src/ into bench/results/build.tmp/ at the start of every run, so the
// numbers are for the source on disk now, and points the children at it
// with BENCH_PLUGIN_DIR.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type * as Plugin from '../src/index.js'
import { BENCH_DIR, ROOT_DIR } from './children.js'

export const BUILD_DIR = join(BENCH_DIR, 'results', 'build.tmp')

/** Where the compiled plugin is loaded from. */
export function pluginDir (): string {
  const env = process.env.BENCH_PLUGIN_DIR
  if (env !== undefined && env !== '') return env
  return existsSync(join(BUILD_DIR, 'index.js')) ? BUILD_DIR : join(ROOT_DIR, 'dist')
}

export async function loadPlugin (): Promise<typeof Plugin> {
  const dir = pluginDir()
  if (!existsSync(join(dir, 'index.js'))) {
    throw new Error(`no compiled plugin in ${dir}: run npm run build, or bench/run.ts (which compiles src/)`)
  }
  return await importBuild(dir)
}

/** The compiled plugin in `dir`. */
export async function importBuild (dir: string): Promise<typeof Plugin> {
  return await import(pathToFileURL(join(dir, 'index.js')).href) as typeof Plugin
}

/**
 * BENCH_PLUGIN_BUILDS=name=dir,name=dir: other compiled builds of src/ that
 * the paired CPU section measures beside this one (variants
 * `pp-rec@name-v1`), to compare two versions of the code in one process.
 */
export function pluginBuilds (): ReadonlyArray<{ readonly name: string, readonly dir: string }> {
  return (process.env.BENCH_PLUGIN_BUILDS ?? '').split(',').filter(spec => spec !== '').map(spec => {
    const at = spec.indexOf('=')
    if (at <= 0 || !existsSync(join(spec.slice(at + 1), 'index.js'))) {
      throw new Error(`BENCH_PLUGIN_BUILDS: ${spec} is not name=folder with a compiled index.js`)
    }
    return { name: spec.slice(0, at), dir: spec.slice(at + 1) }
  })
}
