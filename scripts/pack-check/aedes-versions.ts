// The aedes versions the library supports, as the repo installs them side by
// side (package.json devDependencies: `aedes`, and the npm aliases
// `aedes-0.51` and `aedes-2`). The tests' broker helper and the per-version
// scratch projects both read this table.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

export const AEDES_VERSIONS = ['0.51', '1', '2'] as const
export type AedesVersion = typeof AEDES_VERSIONS[number]

/** The package each version is installed as in the repo. */
export const AEDES_PACKAGES: Readonly<Record<AedesVersion, string>> = { 0.51: 'aedes-0.51', 1: 'aedes', 2: 'aedes-2' }

const require = createRequire(import.meta.url)

/** The exact version the repo has installed for `version` (e.g. 0.51.3). */
export function installedAedes (version: AedesVersion): string {
  // aedes 1 and 2 export no ./package.json; each one's main file (aedes.js) is at its root.
  const file = path.join(path.dirname(require.resolve(AEDES_PACKAGES[version])), 'package.json')
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
}
