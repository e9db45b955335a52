// Running programs for the package check: no shell, output collected, killed
// on timeout, and an environment that does not leak the repo's npm settings.
import { spawn } from 'node:child_process'

export interface RunResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly timedOut: boolean
}

export interface RunOptions {
  readonly cwd: string
  readonly timeoutMs: number
  readonly env?: NodeJS.ProcessEnv
}

/** npm, as the platform names it. */
export const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/** Runs a program without a shell; never rejects, kills it on timeout. */
export async function run (command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return await new Promise(resolve => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, options.timeoutMs)
    child.on('error', err => { clearTimeout(timer); resolve({ code: null, signal: null, stdout, stderr: `${stderr}${String(err)}`, timedOut }) })
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, timedOut }) })
  })
}

/** A one-paragraph account of a finished process, for assertion messages. */
export function describeRun (what: string, r: RunResult): string {
  const status = r.timedOut ? 'timed out' : r.signal !== null ? `killed by ${r.signal}` : `exit ${String(r.code)}`
  const tail = (s: string): string => s.length > 6000 ? `…${s.slice(-6000)}` : s
  return `${what}: ${status}\n--- stdout ---\n${tail(r.stdout)}\n--- stderr ---\n${tail(r.stderr)}`
}

/**
 * The environment for child npm/node processes. Under `npm test` npm exports
 * npm_config_local_prefix, npm_package_* and friends; a nested `npm install`
 * in the scratch project must not inherit the repo's project settings.
 * Registry, cache and TLS settings (npm_config_registry, _cache, _cafile,
 * proxies) are kept.
 */
export function cleanEnv (): NodeJS.ProcessEnv {
  const drop = /^npm_(package_|lifecycle_|config_(local_prefix|global|dry_run|json|workspaces?|include_workspace_root|ignore_scripts|save(_.*)?|package_lock(_only)?|omit|include|production|only|also|prefix|global_prefix|git_tag_version|loglevel)$)/i
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!drop.test(k)) env[k] = v
  env.NO_COLOR = '1'
  env.FORCE_COLOR = '0'
  return env
}
