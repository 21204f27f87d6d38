import { defineConfig } from 'vitest/config';

// Run by `npm test` (package.json passes --config): kept in test/ with the rest of the suite.
export default defineConfig({
  test: {
    // Fails any test that looks up a host other than this machine (see the file).
    setupFiles: ['test/helpers/loopback-only.ts'],
  },
});
