// The package.json as the check reads it, and the files its entry fields
// (exports, main, types, bin) point to.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { root } from './paths.js'

export interface Manifest {
  readonly name: string
  readonly version: string
  readonly type?: string
  readonly main?: string
  readonly types?: string
  readonly typings?: string
  readonly exports?: unknown
  readonly bin?: string | Record<string, string>
  readonly files?: string[]
  readonly engines?: Record<string, string>
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly optionalDependencies?: Record<string, string>
}

export function readManifest (dir = root): Manifest {
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest
}

/** `./dist/x.js` and `dist/x.js` → `dist/x.js`. */
export function normalizeTarget (p: string): string {
  return path.posix.normalize(p.replace(/\\/g, '/')).replace(/^\.\//, '')
}

/** Every file that `exports`, `main`, `types`/`typings` and `bin` point to. */
export function entryTargets (manifest: Manifest): Array<{ field: string, file: string }> {
  const out: Array<{ field: string, file: string }> = []
  const walk = (value: unknown, where: string): void => {
    if (typeof value === 'string') {
      if (value.includes('*')) {
        throw new Error(`${where}: subpath patterns are not checked by pack-check; list files instead`)
      }
      out.push({ field: where, file: normalizeTarget(value) })
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${where}[${i}]`))
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, `${where}["${k}"]`)
    }
  }
  if (manifest.main !== undefined) walk(manifest.main, 'main')
  if (manifest.types !== undefined) walk(manifest.types, 'types')
  if (manifest.typings !== undefined) walk(manifest.typings, 'typings')
  if (manifest.exports !== undefined) walk(manifest.exports, 'exports')
  if (typeof manifest.bin === 'string') walk(manifest.bin, 'bin')
  else if (manifest.bin !== undefined) walk(manifest.bin, 'bin')
  return out
}
