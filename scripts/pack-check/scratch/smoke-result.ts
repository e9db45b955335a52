// The JSON line smoke.ts prints, as the package check reads it.
export interface SmokeResult {
  /** typeof proxyProtocol */
  readonly proxyProtocol: string
  readonly withPlugins: string
  readonly parseHeader: string
  /** the name in require('aedes-proxy-protocol/package.json') */
  readonly packageJson: string
  /** 'allowed', or the error code of importing an internal file */
  readonly deepImport: string
  readonly port: number
  /** the first 4 bytes the broker answered */
  readonly connack: number[]
  /** client.connDetails.ipAddress as authenticate saw it */
  readonly ipAddress: string | undefined
}
