// MQTT.js clients bound to a chosen loopback source address, for each
// listener kind, so a test can tell the client's address from the proxy's.
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import tls from 'node:tls'
import mqtt, { MqttClient, type IClientOptions } from 'mqtt'
import type { ListenerName } from '../../src/options.js'
import { otherCaCerts, testCerts, type ClientCert } from './certs.js'

export interface ConnectOptions {
  readonly listener: ListenerName
  readonly port: number
  readonly host?: string
  readonly localAddress?: string
  readonly clientId?: string
  /** present the test client certificate (ssl/wss), one signed by another CA, or this one */
  readonly clientCert?: boolean | 'other CA' | ClientCert
  readonly username?: string
  readonly password?: string
  /** MQTT's clean session flag (default true); false keeps the session and its subscriptions */
  readonly clean?: boolean
  /** the MQTT version spoken: 4 (3.1.1, the default) or 5 */
  readonly protocolVersion?: 4 | 5
}

/** Connects and resolves on CONNACK; rejects on error or close first. */
export async function connectClient (options: ConnectOptions): Promise<MqttClient> {
  const certs = testCerts()
  const host = options.host ?? '127.0.0.1'
  const localAddress = options.localAddress ?? '127.0.0.2'
  const tlsBits = {
    ca: certs.ca,
    servername: 'localhost',
    ...(options.clientCert === true ? { cert: certs.clientCert, key: certs.clientKey } : {}),
    ...(options.clientCert === 'other CA' ? { cert: otherCaCerts().clientCert, key: otherCaCerts().clientKey } : {}),
    ...(typeof options.clientCert === 'object' ? options.clientCert : {})
  }
  const base: IClientOptions = {
    clientId: options.clientId ?? `c-${Math.random().toString(16).slice(2)}`,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
    ...(options.clean !== undefined ? { clean: options.clean } : {}),
    ...(options.protocolVersion !== undefined ? { protocolVersion: options.protocolVersion } : {})
  }
  let client: MqttClient
  switch (options.listener) {
    case 'tcp':
      client = new MqttClient(() => net.connect({ port: options.port, host, localAddress }), base)
      break
    case 'ssl':
      client = new MqttClient(() => tls.connect({ socket: net.connect({ port: options.port, host, localAddress }), ...tlsBits }), base)
      break
    case 'ws':
      client = mqtt.connect(`ws://${host.includes(':') ? `[${host}]` : host}:${options.port}/`, { ...base, wsOptions: { localAddress } })
      break
    case 'wss':
      client = mqtt.connect(`wss://${host.includes(':') ? `[${host}]` : host}:${options.port}/`, { ...base, wsOptions: { localAddress, ...tlsBits } })
      break
  }
  return await new Promise((resolve, reject) => {
    const fail = (err: Error): void => { client.end(true); reject(err) }
    client.once('connect', () => {
      client.off('error', fail)
      resolve(client)
    })
    client.once('error', fail)
    client.once('close', () => fail(new Error('closed before CONNACK')))
  })
}

/** A client connected through {@link connectVia}, with its own source port. */
export interface Connected {
  readonly client: MqttClient
  /** the client's own source port, as the OS chose it */
  readonly localPort: number
}

/**
 * An MQTT.js client of the given kind connected to `port` from `localAddress`,
 * with the source port it used. tcp and ssl use the shared helper; ws and wss
 * record the socket the WebSocket opens.
 */
export async function connectVia (t: TestContext, listener: ListenerName, port: number,
  options: { host?: string, localAddress?: string, clientCert?: boolean, protocolVersion?: 4 | 5 } = {}
): Promise<Connected> {
  const version = options.protocolVersion === undefined ? {} : { protocolVersion: options.protocolVersion }
  const host = options.host ?? '127.0.0.1'
  const localAddress = options.localAddress ?? '127.0.0.2'
  if (listener === 'tcp' || listener === 'ssl') {
    const client = await connectClient({
      listener, port, host, localAddress, ...(options.clientCert === true ? { clientCert: true } : {}), ...version
    })
    t.after(() => { client.end(true) })
    const localPort = (client.stream as net.Socket).localPort
    assert.ok(typeof localPort === 'number' && localPort > 0, 'client source port known')
    return { client, localPort }
  }
  const certs = testCerts()
  const sockets: net.Socket[] = []
  const createConnection = (opts: net.NetConnectOpts & tls.ConnectionOptions & { socketPath?: string }): net.Socket => {
    // As ws's own netConnect/tlsConnect do: the HTTP request's `path` is not a unix socket.
    const socket = listener === 'wss'
      ? tls.connect({ ...opts, path: undefined } as tls.ConnectionOptions)
      : net.connect({ ...opts, path: opts.socketPath } as net.NetConnectOpts)
    sockets.push(socket)
    return socket
  }
  const url = `${listener}://${host.includes(':') ? `[${host}]` : host}:${port}/`
  const client = mqtt.connect(url, {
    clientId: `c-${Math.random().toString(16).slice(2)}`,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...version,
    wsOptions: {
      localAddress,
      createConnection: createConnection as unknown as typeof net.createConnection,
      ...(listener === 'wss' ? { ca: certs.ca, servername: 'localhost' } : {})
    }
  })
  t.after(() => { client.end(true) })
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
    client.once('close', () => reject(new Error('closed before CONNACK')))
  })
  assert.equal(sockets.length, 1, 'one socket opened for the WebSocket')
  const localPort = sockets[0]?.localPort
  assert.ok(typeof localPort === 'number' && localPort > 0, 'client source port known')
  return { client, localPort }
}

export async function endClient (client: MqttClient): Promise<void> {
  await new Promise<void>(resolve => client.end(false, {}, () => resolve()))
}

/** Subscribes and publishes once on `topic`: the broker still serves `client`. */
export async function roundTrip (client: MqttClient, topic: string): Promise<void> {
  const got = new Promise<string>(resolve => client.once('message', (_t, payload) => resolve(payload.toString())))
  await client.subscribeAsync(topic)
  await client.publishAsync(topic, 'still here')
  if (await got !== 'still here') throw new Error(`${topic}: the message came back changed`)
}
