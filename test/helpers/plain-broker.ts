// A plain aedes broker, the usual way (net.createServer(broker.handle)), with
// no PROXY plugin: for plugins that must work installed alone.
import net from 'node:net'
import { once } from 'node:events'
import type { Aedes, AedesOptions } from 'aedes'
import { withPlugins, type PluggableAedes } from '../../src/use.js'
import { createBroker, type AedesVersion } from './aedes-versions.js'

export interface PlainBroker {
  readonly broker: PluggableAedes<Aedes>
  readonly port: number
  close (): Promise<void>
}

/**
 * Starts the broker (`version`: AEDES_VERSION from the environment, else 1);
 * `setup` installs plugins before the server exists.
 */
export async function startPlainBroker (options: Partial<AedesOptions>, setup: (broker: PluggableAedes<Aedes>) => void,
  version?: AedesVersion): Promise<PlainBroker> {
  const broker = withPlugins(await createBroker(version, options))
  setup(broker)
  const server = net.createServer(broker.handle)
  const sockets = new Set<net.Socket>()
  server.on('connection', (s: net.Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    broker,
    port: (server.address() as net.AddressInfo).port,
    async close () {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
      await new Promise<void>(resolve => broker.close(() => resolve()))
    }
  }
}

/** The CONNACK refusal code of a connection attempt, or 'connected'. */
export async function outcome (connecting: Promise<{ end: (force: boolean) => unknown }>): Promise<number | string> {
  try {
    const c = await connecting
    c.end(true)
    return 'connected'
  } catch (err) {
    return (err as { code?: number | string }).code ?? String(err)
  }
}
