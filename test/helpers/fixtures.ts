// The real-world and spec PROXY headers live in support/fixtures.ts: the
// fuzzer (scripts/) and the benchmarks (bench/) use them too, and they do not
// import from test/.
export * from '../../support/fixtures.js'
