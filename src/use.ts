import type { Aedes } from 'aedes'
import { show, UsageError } from './errors.js'

/** Something `broker.use()` installs. */
export interface AedesPlugin<T> {
  install (broker: Aedes): T
}

/** A broker that has been given a `use` method by {@link withPlugins}. */
export type PluggableAedes<B extends Aedes = Aedes> = B & {
  /** Installs a plugin on this broker and returns what the plugin returns. */
  use<T> (plugin: AedesPlugin<T>): T
}

/**
 * Gives an existing aedes broker a `use(plugin)` method. aedes has none;
 * this adds one to this broker instance only, when called, and nothing else.
 */
export function withPlugins<B extends Aedes> (broker: B): PluggableAedes<B> {
  if (typeof (broker as Partial<Aedes> | null)?.handle !== 'function') throw new UsageError(`withPlugins() needs an aedes broker, got ${show(broker)}`)
  const target = broker as PluggableAedes<B>
  if (typeof target.use !== 'function') {
    Object.defineProperty(broker, 'use', {
      value: function use<T> (plugin: AedesPlugin<T>): T {
        if (typeof (plugin as Partial<AedesPlugin<T>> | null)?.install !== 'function') throw new UsageError(`broker.use() needs a plugin with an install(broker) method, such as proxyProtocol(), got ${show(plugin)}`)
        return plugin.install(broker)
      },
      writable: true,
      configurable: true,
      enumerable: false
    })
  }
  return target
}
