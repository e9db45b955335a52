import type { Aedes } from 'aedes'

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
  const target = broker as PluggableAedes<B>
  if (typeof target.use !== 'function') {
    Object.defineProperty(broker, 'use', {
      value: function use<T> (plugin: AedesPlugin<T>): T { return plugin.install(broker) },
      writable: true,
      configurable: true,
      enumerable: false
    })
  }
  return target
}
