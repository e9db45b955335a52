// The tests' way to run programs is the repository's one runner
// (support/spawn.ts); imported from here, a test file is one that starts
// programs (test/integration/layout.test.ts keeps those under system/).
export * from '../../support/spawn.js'
