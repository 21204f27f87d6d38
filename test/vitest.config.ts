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
  },
});
