// The PROXY header encoder lives in support/encode.ts: the fuzzer (scripts/)
// and the benchmarks (bench/) use it too, and they do not import from test/.
export * from '../../support/encode.js'
