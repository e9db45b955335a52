// aedes 0.51 (CommonJS) from ESM: the module is the factory, and
// `createBroker` is the same function (`module.exports = Aedes.createBroker =
// Aedes`); its types export the class as `default`, with no `Aedes` name.
import aedes, { type Client } from 'aedes'
import { withPlugins, type PluggableAedes } from 'aedes-proxy-protocol'
import { expectType, serve } from './plugins.js'

const broker = withPlugins(aedes.createBroker({
  preConnect (client, _packet, done) { done(null, client.connDetails?.ipAddress !== undefined) }
}))
// withPlugins keeps the broker's own type.
expectType<ReturnType<typeof aedes.createBroker> extends Parameters<typeof withPlugins>[0] ? true : false>()
const same: PluggableAedes<ReturnType<typeof aedes.createBroker>> = broker
broker.authenticate = (c: Client, _user, _pass, done) => { done(null, c.connDetails?.port !== undefined) }
export const server = serve(same, 1883)
