// Running programs for the package check: the repository's one runner
// (support/spawn.ts), in an environment that does not leak the repo's npm
// settings.
import { run as runProgram, type RunResult } from '../../support/spawn.js'

export { describeRun, type RunResult } from '../../support/spawn.js'

/** npm, as the platform names it. */
export const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/** Runs a program without a shell, in cleanEnv() unless told; never rejects, kills it on timeout. */
export async function run (
  command: string,
  args: readonly string[],
  options: { readonly cwd: string, readonly timeoutMs: number, readonly env?: NodeJS.ProcessEnv }
): Promise<RunResult> {
  return await runProgram(command, args, { ...options, env: options.env ?? cleanEnv() })
}

/**
 * The environment for child npm/node processes. Under `npm test` npm exports
 * npm_config_local_prefix, npm_package_* and friends; a nested `npm install`
 * in the scratch project must not inherit the repo's project settings.
 * Registry, cache and TLS settings (npm_config_registry, _cache, _cafile,
 * proxies) are kept.
 */
export function cleanEnv (): NodeJS.ProcessEnv {
  const drop = new RegExp('^npm_(package_|lifecycle_|config_(local_prefix|global|dry_run|json|workspaces?|' +
    'include_workspace_root|ignore_scripts|save(_.*)?|package_lock(_only)?|omit|include|production|only|also|' +
    'prefix|global_prefix|git_tag_version|loglevel)$)', 'i')
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!drop.test(k)) env[k] = v
  env.NO_COLOR = '1'
  env.FORCE_COLOR = '0'
  return env
}
