// The TLS of the ssl and wss listeners, checked at start-up so that nothing is
// bound when it is wrong: TBMQ's server certificate variables
// (LISTENER_{SSL,WSS}_PEM_CERT, _PEM_KEY, _PEM_KEY_PASSWORD) and the client
// certificates. TBMQ sets client authentication on its X.509 provider
// (MqttClientAuthType: CLIENT_AUTH_NONE, _REQUESTED, _REQUIRED, default
// REQUESTED) and trusts the CA certificates found in the server's PEM file;
// here both are variables of the listener: _CLIENT_AUTH_TYPE and _PEM_CA_CERT.
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import tls from 'node:tls'
import { StartupError, value } from './startup.js'

type Env = Readonly<Record<string, string | undefined>>

/** What a TLS listener asks of its clients' certificates. */
export type ClientAuth = 'none' | 'request' | 'require'

/** The modes by the names the variable takes, lower-cased: ours, and TBMQ's MqttClientAuthType. */
const CLIENT_AUTH_NAMES: ReadonlyMap<string, ClientAuth> = new Map([
  ['none', 'none'],
  ['request', 'request'],
  ['require', 'require'],
  ['client_auth_none', 'none'],
  ['client_auth_requested', 'request'],
  ['client_auth_required', 'require']
])

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g

/** What a CA file must hold, said when it holds something else. */
const GIVE_CA = 'give the certificate of the CA that signs the client certificates'

function read (name: string, path: string): Buffer {
  try {
    return readFileSync(path)
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new StartupError(`${name}=${JSON.stringify(path)}: cannot read it (${why})`)
  }
}

/**
 * The client-certificate mode of a listener: `_CLIENT_AUTH_TYPE` when set,
 * otherwise `request` with a CA file (TBMQ's default) and `none` without.
 * @throws StartupError for a value it does not know
 */
export function clientAuth (env: Env, listener: 'ssl' | 'wss'): ClientAuth {
  const p = `LISTENER_${listener.toUpperCase()}`
  const text = value(env, `${p}_CLIENT_AUTH_TYPE`)
  if (text === undefined) return value(env, `${p}_PEM_CA_CERT`) === undefined ? 'none' : 'request'
  const mode = CLIENT_AUTH_NAMES.get(text.toLowerCase())
  if (mode === undefined) {
    throw new StartupError(`${p}_CLIENT_AUTH_TYPE=${JSON.stringify(text)} is not a client certificate mode: ` +
      'use none, request or require (or TBMQ\'s CLIENT_AUTH_NONE, CLIENT_AUTH_REQUESTED, CLIENT_AUTH_REQUIRED)')
  }
  return mode
}

/**
 * The CA certificates of `_PEM_CA_CERT`: a PEM file of one or more
 * certificates, each a CA's (basicConstraints CA:TRUE). A server or client
 * certificate given by mistake would otherwise verify nobody, or only itself.
 * @throws StartupError when the file cannot be read or holds anything else
 */
function caCertificates (name: string, path: string): Buffer {
  const pem = read(name, path)
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? []
  const what = `${name}=${JSON.stringify(path)}`
  if (blocks.length === 0) {
    throw new StartupError(`${what}: not a PEM CA certificate (no -----BEGIN CERTIFICATE----- block): ${GIVE_CA}`)
  }
  for (const block of blocks) {
    let cert: X509Certificate
    try {
      cert = new X509Certificate(block)
    } catch (err) {
      throw new StartupError(`${what}: not a PEM CA certificate (${(err as Error).message})`)
    }
    if (!cert.ca) {
      const subject = cert.subject.replace(/\n/g, ', ')
      throw new StartupError(`${what}: "${subject}" is not a CA certificate (no basicConstraints CA:TRUE): ${GIVE_CA}`)
    }
  }
  return pem
}

/**
 * The TLS options of the ssl or wss listener, checked now (key, certificate,
 * password, CA file, client certificate mode) so that nothing is bound when
 * they are wrong. `request` asks for a client certificate and accepts the
 * connection without one or with one that does not verify
 * (`connDetails.certAuthorized` says which); `require` refuses such a client
 * in the TLS handshake (no certificate) or as it ends (one that does not
 * verify: Node closes the socket), before the broker reads a byte of MQTT.
 * @throws StartupError naming the variable, the value and what is accepted
 */
export function tlsOptions (env: Env, listener: 'ssl' | 'wss'): tls.TlsOptions {
  const p = `LISTENER_${listener.toUpperCase()}`
  const cert = value(env, `${p}_PEM_CERT`)
  const key = value(env, `${p}_PEM_KEY`)
  if (cert === undefined || key === undefined) {
    const missing = cert === undefined ? `${p}_PEM_CERT` : `${p}_PEM_KEY`
    throw new StartupError(`the ${listener} listener is enabled but ${missing} is not set: ` +
      `set ${p}_PEM_CERT and ${p}_PEM_KEY to PEM files, or ${p}_ENABLED=false`)
  }
  const passphrase = value(env, `${p}_PEM_KEY_PASSWORD`)
  const keyPem = read(`${p}_PEM_KEY`, key)
  // The files as lines name them.
  const keyFile = `${p}_PEM_KEY=${JSON.stringify(key)}`
  const certFile = `${p}_PEM_CERT=${JSON.stringify(cert)}`
  const needsPassword = `${keyFile} is encrypted: set ${p}_PEM_KEY_PASSWORD to its password`
  // An encrypted key (PKCS#8 or traditional PEM) without its password: said
  // from the PEM itself, since OpenSSL's own error for it differs between
  // builds, and it must never fall back to asking for a password on a terminal.
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type: 4,ENCRYPTED/m.test(keyPem.toString('latin1'))
  if (passphrase === undefined && encrypted) {
    throw new StartupError(needsPassword)
  }
  const wrongPassword = `${p}_PEM_KEY_PASSWORD does not decrypt ${keyFile}`
  // An encrypted key is decoded alone first: whatever stops it decoding with
  // the password is the password's. A wrong one is mostly "bad decrypt", but
  // about once in 256 its decryption ends in what looks like valid CBC padding
  // and OpenSSL reports a decoder error ("unsupported") instead.
  if (passphrase !== undefined && encrypted) {
    try {
      createPrivateKey({ key: keyPem, passphrase })
    } catch {
      throw new StartupError(wrongPassword)
    }
  }
  const options: tls.TlsOptions = {
    cert: read(`${p}_PEM_CERT`, cert),
    key: keyPem,
    ...(passphrase !== undefined ? { passphrase } : {})
  }
  try {
    tls.createSecureContext(options)
  } catch (err) {
    const text = `${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}`
    if (/bad decrypt|BAD_DECRYPT|bad password|interrupted or cancelled/i.test(text)) {
      throw new StartupError(passphrase === undefined ? needsPassword : wrongPassword)
    }
    if (/key values mismatch|KEY_VALUES_MISMATCH/i.test(text)) {
      throw new StartupError(`${keyFile} is not the key of ${certFile}`)
    }
    throw new StartupError(`${certFile} / ${keyFile}: not a PEM certificate and key (${(err as Error).message})`)
  }
  const mode = clientAuth(env, listener)
  // Set explicitly whenever it contradicts the CA file: the default follows the file.
  const modeText = JSON.stringify(value(env, `${p}_CLIENT_AUTH_TYPE`) ?? mode)
  const caPath = value(env, `${p}_PEM_CA_CERT`)
  if (mode === 'none') {
    if (caPath !== undefined) {
      throw new StartupError(`${p}_PEM_CA_CERT=${JSON.stringify(caPath)} is set but ` +
        `${p}_CLIENT_AUTH_TYPE=${modeText} asks for no client certificate: ` +
        `use request or require, or unset ${p}_PEM_CA_CERT`)
    }
    return options
  }
  // Without a CA of its own Node would verify client certificates against
  // the public roots: any certificate a public CA issued would do.
  if (caPath === undefined) {
    throw new StartupError(`${p}_CLIENT_AUTH_TYPE=${modeText} needs ${p}_PEM_CA_CERT: ` +
      'set it to the PEM file of the CA that signs the client certificates')
  }
  const ca = caCertificates(`${p}_PEM_CA_CERT`, caPath)
  return { ...options, ca, requestCert: true, rejectUnauthorized: mode === 'require' }
}
