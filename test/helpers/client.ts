// MQTT.js clients bound to a chosen loopback source address, for each
// listener kind, so a test can tell the client's address from the proxy's.
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
    ...(options.clean !== undefined ? { clean: options.clean } : {})
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
