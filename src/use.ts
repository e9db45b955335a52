import type { AedesBroker } from './aedes-shape.js'
import { show, UsageError } from './errors.js'

/** Something `broker.use()` installs. */
export interface AedesPlugin<T> {
  install (broker: AedesBroker): T
}

/** A broker that has been given a `use` method by {@link withPlugins}. */
export type PluggableAedes<B extends AedesBroker = AedesBroker> = B & {
  /** Installs a plugin on this broker and returns what the plugin returns. */
  use<T> (plugin: AedesPlugin<T>): T
}

/**
 * Marks `broker` as having one kind of plugin, or throws when it has one
 * already: the mark is `Symbol.for('aedes-proxy-protocol.<kind>')`, so a
 * second copy of the package loaded in the same process sees it too.
 * `beforeMark` runs after the check, before the mark, for what else must
 * refuse the install (it throws).
 * @throws UsageError saying `already` when the broker has a plugin of this kind.
 */
export function installOnce (broker: AedesBroker, kind: string, already: string, beforeMark?: () => void): void {
  const mark = Symbol.for(`aedes-proxy-protocol.${kind}`)
  if ((broker as AedesBroker & Record<symbol, unknown>)[mark] === true) throw new UsageError(already)
  beforeMark?.()
  Object.defineProperty(broker, mark, { value: true })
}

/**
 * Gives an existing aedes broker a `use(plugin)` method. aedes has none;
 * this adds one to this broker instance only, when called, and nothing else.
 */
export function withPlugins<B extends AedesBroker> (broker: B): PluggableAedes<B> {
  if (typeof (broker as Partial<AedesBroker> | null)?.handle !== 'function') {
    throw new UsageError(`withPlugins() needs an aedes broker, got ${show(broker)}`)
  }
  const target = broker as PluggableAedes<B>
  if (typeof target.use !== 'function') {
    Object.defineProperty(broker, 'use', {
      value: function use<T> (plugin: AedesPlugin<T>): T {
        if (typeof (plugin as Partial<AedesPlugin<T>> | null)?.install !== 'function') {
          throw new UsageError('broker.use() needs a plugin with an install(broker) method, such as proxyProtocol(), ' +
            `got ${show(plugin)}`)
        }
        return plugin.install(broker)
      },
      writable: true,
      configurable: true,
      enumerable: false
    })
  }
  return target
}
