import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Fails any test that looks up a host other than this machine (see the file).
    setupFiles: ['test/helpers/loopback-only.ts'],
  },
});
