// A CommonJS app, as a user of any aedes version writes it: require() of the
// package (ESM, loaded by Node's require(esm): Node 20.19+ and 22.12+) and of
// aedes, whose module is the factory on 0.51 (`require('aedes')(options)`)
// and has Aedes.createBroker on 1.x and 2.x (ESM too, required the same way).
// Prints `{"listening":port}`, then one JSON line per client authenticate
// sees (its connDetails), until SIGTERM closes the server and the broker.
// The package test runs it in each per-version scratch project behind a real
// HAProxy (send-proxy-v2).
'use strict'
const net = require('node:net')
const aedes = require('aedes')
const { proxyProtocol, withPlugins } = require('aedes-proxy-protocol')

const options = {
  authenticate (client, _username, _password, done) {
    const d = client.connDetails
    console.log(JSON.stringify({ clientId: client.id, ipAddress: d?.ipAddress, port: d?.port, isProxy: d?.isProxy }))
    done(null, true)
  }
}

const made = typeof aedes === 'function' ? Promise.resolve(aedes(options)) : aedes.Aedes.createBroker(options)
made.then(plain => {
  const broker = withPlugins(plain)
  broker.use(proxyProtocol({ proxyEnabled: true }))
  const server = net.createServer(broker.handle)
  server.listen(0, '127.0.0.1', () => { console.log(JSON.stringify({ listening: server.address().port })) })
  process.once('SIGTERM', () => {
    server.close()
    plain.close(() => { process.exitCode = 0 })
  })
}, err => { console.error(err); process.exitCode = 1 })
