// Brokers of each aedes version the library supports (the table is
// scripts/pack-check/aedes-versions.ts), installed side by side as npm
// aliases (package.json devDependencies): aedes 0.51 (CommonJS, the factory
// `aedes()`), aedes 1.x (`aedes`, the repo's own) and aedes 2 (MQTT 5), both
// ESM with `await Aedes.createBroker()`. createBroker(version) makes a broker
// as a user of that version does. Tests that take no version use
// AEDES_VERSION from the environment (0.51, 1 or 2; default 1), so any
// test file that starts brokers through these helpers can be run against
// another aedes: `AEDES_VERSION=0.51 node --import tsx --test test/x.test.ts`.
import { createRequire } from 'node:module'
import { Aedes, type AedesOptions } from 'aedes'
import { Aedes as Aedes2 } from 'aedes-2'
import { AEDES_PACKAGES, AEDES_VERSIONS, type AedesVersion } from '../../scripts/pack-check/aedes-versions.js'

export {
  AEDES_PACKAGES, AEDES_VERSIONS, installedAedes, type AedesVersion
} from '../../scripts/pack-check/aedes-versions.js'

const require = createRequire(import.meta.url)

/** AEDES_VERSION from the environment; 1 when unset. @throws Error naming the accepted values. */
export function aedesVersionFromEnv (env: NodeJS.ProcessEnv = process.env): AedesVersion {
  const v = env.AEDES_VERSION ?? '1'
  if (!(AEDES_VERSIONS as readonly string[]).includes(v)) {
    throw new Error(`AEDES_VERSION=${v}: expected one of ${AEDES_VERSIONS.join(', ')}`)
  }
  return v as AedesVersion
}

/**
 * A broker of the given aedes version, made as that version's users make it.
 * Typed as aedes 1's class: the three share the members tests use (handle,
 * hooks, on, publish, close, connectedClients); `npm run typecheck` checks
 * the library against each version's own types.
 */
export async function createBroker (version: AedesVersion = aedesVersionFromEnv(),
  options: Partial<AedesOptions> = {}): Promise<Aedes> {
  switch (version) {
    case '0.51': {
      // As 0.51's users write it: `const broker = require('aedes')(options)`.
      const factory = require(AEDES_PACKAGES['0.51']) as (opts: Partial<AedesOptions>) => Aedes
      return factory(options)
    }
    case '1':
      return await Aedes.createBroker(options)
    case '2':
      return await Aedes2.createBroker(options as Parameters<typeof Aedes2.createBroker>[0]) as unknown as Aedes
  }
}
