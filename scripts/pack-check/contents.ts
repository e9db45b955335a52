// Step 2: what is inside the shipped files: source maps, relative and bare
// imports, bin shebangs. Run on the repo (what npm pack read) and again on
// the package as installed in the scratch project.
import { readFileSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import path from 'node:path'
import { normalizeTarget, type Manifest } from './manifest.js'
import { root } from './paths.js'

/** The package name of a bare specifier: `@a/b/c` → `@a/b`, `x/y` → `x`. */
export function packageOf (specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0] ?? specifier
}

/** Module specifiers in JS or declaration text: static, side-effect, dynamic imports and re-exports. */
export function specifiersIn (text: string): string[] {
  const out: string[] = []
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g
  ]
  for (const re of patterns) for (const m of text.matchAll(re)) if (m[1] !== undefined) out.push(m[1])
  return out
}

/** Where TypeScript looks for the declarations of a relative import. */
function declarationCandidates (target: string): string[] {
  const m = /^(.*)\.(m|c)?js$/.exec(target)
  if (m !== null) return [`${m[1] ?? ''}.d.${m[2] ?? ''}ts`]
  if (target.endsWith('.d.ts')) return [target]
  return [`${target}.d.ts`, `${target}/index.d.ts`]
}

/**
 * Problems inside the shipped files (read from `dir`, which holds the same
 * files the tarball does: the repo root, or the installed package):
 * - every `sourceMappingURL` points to a shipped map, and every shipped map's
 *   sources are shipped or inlined (`sourcesContent`);
 * - relative imports of shipped .js/.d.ts resolve to shipped files;
 * - bare imports are node builtins, the package itself, or listed in
 *   dependencies / peerDependencies (not only in devDependencies);
 * - every bin starts with a node shebang.
 */
export function checkShippedContents (files: readonly string[], manifest: Manifest, dir = root): string[] {
  const problems: string[] = []
  const shipped = new Set(files)
  const declared = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
    ...Object.keys(manifest.optionalDependencies ?? {}),
    manifest.name
  ])
  const danglingMaps: string[] = []
  const unmappedSources: string[] = []
  for (const f of files) {
    const isJs = f.endsWith('.js')
    const isDts = f.endsWith('.d.ts')
    const isMap = f.endsWith('.map')
    if (!isJs && !isDts && !isMap) continue
    const text = readFileSync(path.join(dir, f), 'utf8')
    const here = path.posix.dirname(f)
    if (isJs || isDts) {
      for (const m of text.matchAll(/^\/\/# sourceMappingURL=(\S+)\s*$/gm)) {
        const url = m[1] ?? ''
        if (url.startsWith('data:')) continue
        const target = path.posix.join(here, url)
        if (!shipped.has(target)) danglingMaps.push(`${f} -> ${target}`)
      }
      for (const spec of new Set(specifiersIn(text))) {
        if (spec.startsWith('.')) {
          const target = path.posix.join(here, spec)
          // a declaration's import resolves to declarations, never to the .js
          const candidates = isDts ? declarationCandidates(target) : [target]
          if (!candidates.some(c => shipped.has(c))) {
            problems.push(`${f} imports ${spec}, but ${candidates.join(' / ')} is not in the tarball`)
          }
        } else if (!isBuiltin(spec) && !declared.has(packageOf(spec))) {
          problems.push(`${f} imports ${spec}, but ${packageOf(spec)} is not in dependencies or peerDependencies`)
        }
      }
    } else {
      let map: { sources?: string[], sourcesContent?: Array<string | null>, sourceRoot?: string }
      try { map = JSON.parse(text) as typeof map } catch { problems.push(`${f} is not JSON`); continue }
      const sources = map.sources ?? []
      sources.forEach((s, i) => {
        const inlined = typeof map.sourcesContent?.[i] === 'string'
        const target = path.posix.join(here, map.sourceRoot ?? '', s)
        if (!inlined && !shipped.has(target)) unmappedSources.push(`${f} -> ${target}`)
      })
    }
  }
  if (danglingMaps.length > 0) {
    problems.push(`${danglingMaps.length} shipped file(s) end with a sourceMappingURL comment whose map is not in ` +
      'the tarball (build without sourceMap, or ship the maps with inlineSources): ' +
      `${danglingMaps.slice(0, 3).join(', ')}${danglingMaps.length > 3 ? ', …' : ''}`)
  }
  if (unmappedSources.length > 0) {
    problems.push(`${unmappedSources.length} source(s) in shipped maps are neither shipped nor inlined in ` +
      'sourcesContent (build with inlineSources, or do not ship maps): ' +
      `${unmappedSources.slice(0, 3).join(', ')}${unmappedSources.length > 3 ? ', …' : ''}`)
  }
  const bins = typeof manifest.bin === 'string' ? { [manifest.name]: manifest.bin } : manifest.bin ?? {}
  for (const [name, file] of Object.entries(bins)) {
    const target = normalizeTarget(file)
    if (!shipped.has(target)) continue // reported by checkFileList
    const first = readFileSync(path.join(dir, target), 'utf8').split('\n', 1)[0] ?? ''
    if (!/^#!\/usr\/bin\/env node\b/.test(first)) {
      problems.push(`bin ${name} (${target}) does not start with "#!/usr/bin/env node"`)
    }
  }
  return problems
}
