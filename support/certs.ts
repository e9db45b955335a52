// Test certificates made with the openssl CLI when first asked for (a CA, a
// server certificate for 127.0.0.1/localhost/::1 and a client certificate;
// a second CA with a client certificate of its own), so nothing expires in
// the repository. Used by the tests and the benchmarks. Made once a day for
// all processes (key generation took 1-2 s in each test file that connects a
// client), each of which gets a copy of its own to use and write into.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TestCerts {
  readonly dir: string
  readonly ca: Buffer
  readonly serverKey: Buffer
  readonly serverCert: Buffer
  readonly clientKey: Buffer
  readonly clientCert: Buffer
  readonly caKeyPath: string
  readonly caPath: string
  readonly serverKeyPath: string
  readonly serverCertPath: string
  readonly clientKeyPath: string
  readonly clientCertPath: string
  /** server key and certificate concatenated (HAProxy's crt format) */
  readonly serverPemPath: string
  /** client key and certificate concatenated */
  readonly clientPemPath: string
}

let cached: TestCerts | undefined

function openssl (dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

/**
 * A directory of this process's own (removed when it exits) holding what `make` makes in
 * the directory it is given. `make` runs once a day (UTC) for all processes: its result is
 * kept in tmpdir under the day, `kind` and a digest of `make`'s code (a changed recipe
 * makes anew), and copied from there. The certificates are valid for two days, so a
 * day's set is valid for at least a day more.
 */
function madeOnceADay (kind: string, make: (dir: string) => void): string {
  const recipe = createHash('sha256').update(`${kind}\n${make.toString()}`).digest('hex').slice(0, 16)
  const shared = join(tmpdir(), `aedes-pp-${new Date().toISOString().slice(0, 10)}-${recipe}`)
  if (!existsSync(shared)) {
    const scratch = mkdtempSync(join(tmpdir(), 'aedes-pp-making-'))
    try {
      make(scratch)
      renameSync(scratch, shared) // at once and whole: another process sees all of it or none
    } catch (err) {
      rmSync(scratch, { recursive: true, force: true })
      if (!existsSync(shared)) throw err // else another process made it first
    }
  }
  const dir = mkdtempSync(join(tmpdir(), `aedes-pp-${kind}-`))
  process.once('exit', () => { rmSync(dir, { recursive: true, force: true }) })
  cpSync(shared, dir, { recursive: true })
  return dir
}

/** Makes (once per process, from the day's set) a CA, a server and a client certificate. */
export function testCerts (clientCn = 'client-1'): TestCerts {
  if (cached !== undefined) return cached
  const dir = madeOnceADay(`certs-${clientCn}`, dir => {
    openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=aedes-proxy-protocol test CA'])
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n')
    openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'])
    openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext'])
    writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n')
    openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', `/CN=${clientCn}`])
    openssl(dir, ['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2', '-extfile', 'client.ext'])
    const read = (name: string): Buffer => readFileSync(join(dir, name))
    writeFileSync(join(dir, 'server.pem'), Buffer.concat([read('server.crt'), read('server.key')]))
    writeFileSync(join(dir, 'client.pem'), Buffer.concat([read('client.crt'), read('client.key')]))
  })
  const read = (name: string): Buffer => readFileSync(join(dir, name))
  cached = {
    dir,
    ca: read('ca.crt'),
    serverKey: read('server.key'),
    serverCert: read('server.crt'),
    clientKey: read('client.key'),
    clientCert: read('client.crt'),
    caKeyPath: join(dir, 'ca.key'),
    caPath: join(dir, 'ca.crt'),
    serverKeyPath: join(dir, 'server.key'),
    serverCertPath: join(dir, 'server.crt'),
    clientKeyPath: join(dir, 'client.key'),
    clientCertPath: join(dir, 'client.crt'),
    serverPemPath: join(dir, 'server.pem'),
    clientPemPath: join(dir, 'client.pem')
  }
  return cached
}

export interface OtherCaCerts {
  readonly dir: string
  /** a second CA, unrelated to testCerts()'s */
  readonly caPath: string
  /** a client certificate (CN `stranger`) this second CA signed, and its key */
  readonly clientKey: Buffer
  readonly clientCert: Buffer
}

let otherCached: OtherCaCerts | undefined

/** Makes (once per process) a second CA and a client certificate from it: a client the first CA does not vouch for. */
export function otherCaCerts (): OtherCaCerts {
  if (otherCached !== undefined) return otherCached
  const dir = madeOnceADay('other-ca', dir => {
    openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=aedes-proxy-protocol other CA'])
    writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n')
    openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=stranger'])
    openssl(dir, ['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2', '-extfile', 'client.ext'])
  })
  otherCached = { dir, caPath: join(dir, 'ca.crt'), clientKey: readFileSync(join(dir, 'client.key')), clientCert: readFileSync(join(dir, 'client.crt')) }
  return otherCached
}

export interface ClientCert {
  readonly key: Buffer
  readonly cert: Buffer
}

const bmpCached = new Map<string, ClientCert>()

/**
 * A client certificate signed by testCerts()'s CA whose subject CN is `cn` as
 * an ASN.1 BMPString (UTF-16BE), as some PKIs issue non-Latin names: HAProxy's
 * `send-proxy-v2-ssl-cn` forwards those bytes unchanged. Made once per CN.
 */
export function bmpClientCert (cn: string): ClientCert {
  const made = bmpCached.get(cn)
  if (made !== undefined) return made
  const { dir, caPath, caKeyPath } = testCerts()
  const name = `bmp-${bmpCached.size}`
  // string_mask MASK:0x800 allows BMPString only (B_ASN1_BMPSTRING), so openssl encodes the CN as one.
  writeFileSync(join(dir, `${name}.cnf`), '[req]\ndistinguished_name = dn\nstring_mask = MASK:0x800\n[dn]\n')
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`,
    '-config', `${name}.cnf`, '-utf8', '-subj', `/CN=${cn}`])
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', caPath, '-CAkey', caKeyPath, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', 'client.ext'])
  const cert = { key: readFileSync(join(dir, `${name}.key`)), cert: readFileSync(join(dir, `${name}.crt`)) }
  bmpCached.set(cn, cert)
  return cert
}
