// aedes 1.x and 2.x (ESM): `await Aedes.createBroker()`.
import { Aedes, type Client } from 'aedes'
import { withPlugins, type PluggableAedes } from 'aedes-proxy-protocol'
import { serve } from './plugins.js'

const broker = withPlugins(await Aedes.createBroker({
  preConnect (client, _packet, done) { done(null, client.connDetails?.ipAddress !== undefined) }
}))
// withPlugins keeps the broker's own type.
const same: PluggableAedes<Aedes> = broker
broker.authenticate = (c: Client, _user, _pass, done) => { done(null, c.connDetails?.port !== undefined) }
export const server = serve(same, 1883)
