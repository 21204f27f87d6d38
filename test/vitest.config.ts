import { defineConfig } from 'vitest/config';

// Run by `npm test` (package.json passes --config): kept in test/ with the rest of the suite.
export default defineConfig({
  test: {
    // Fails any test that looks up a host other than this machine (see the file).
    setupFiles: ['test/helpers/loopback-only.ts'],
    // Many tests start a gateway: in-process (two worker threads that load TypeScript through
    // tsx) or as `node src/bin.mjs` (3-5 s before it listens or exits on a 2-core machine under
    // load, up to 10 s under heavy load). Such tests took up to 5.7 s there, against vitest's 5 s
    // default; a hung test still fails, only later. Tests that start more say so themselves.
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Two files at a time on these 2-core machines, not vitest's default of one: most of a test's
    // time is spent waiting on a child process, a socket or an fsync, not computing. The whole
    // suite took 166-171 s this way against 272 s with one (idle machine, 105 files, 1,838 tests).
    maxWorkers: 2,
  },
});
