// Where the package check works: the repository root, and temporary
// directories for the tarball and the scratch project.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (where package.json and dist/ are). */
export const root = fileURLToPath(new URL('../..', import.meta.url))

export function makeTempDir (label: string): string {
  return mkdtempSync(path.join(tmpdir(), `aedes-pp-${label}-`))
}

export function removeDir (dir: string | undefined): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
}
