// The openssl-made test certificates live in support/certs.ts: the benchmarks
// (bench/) use them too, and they do not import from test/.
export * from '../../support/certs.js'
