// The part of an aedes broker the plugins use, written down here rather than
// taken from aedes' types: aedes 0.51 (CommonJS) exports its class as
// `default`, 1.x and 2.x as `Aedes`, so no one name fits all three. The
// names used below from 'aedes' (Client, Connection, AuthenticateError and
// the packets) are exported, the same, by 0.51.3, 1.2.0 and 2.0.0-beta.1.
import type { IncomingMessage } from 'node:http'
import type { AedesPublishPacket, AuthenticateError, Client, Connection, PublishPacket } from 'aedes'

/**
 * An aedes broker as the plugins see it: what `aedes()` (0.51), and
 * `await Aedes.createBroker()` (1.x, 2.x) return all have this shape. The
 * hooks are written as methods so that a broker's own, more precise
 * signatures fit.
 */
export interface AedesBroker {
  /** The broker's id (`$SYS/<id>/...`). */
  readonly id: string
  /** aedes' connection handler: the plugin puts its own in its place. */
  handle: (stream: Connection, request?: IncomingMessage) => Client
  authenticate (client: Client, username: Readonly<string | undefined>, password: Readonly<Buffer | undefined>,
    done: (error: AuthenticateError | null, success: boolean | null) => void): void
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- aedes' own return type for this hook
  authorizeForward (client: Client, packet: AedesPublishPacket): AedesPublishPacket | null | void
  publish (packet: PublishPacket, callback: (error?: Error) => void): void
  on (event: 'client' | 'clientDisconnect', listener: (client: Client) => void): this
  once (event: 'closed', listener: () => void): this
}
