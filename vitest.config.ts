import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every test talks to real Redis / real lavapipe: give them room, and run files
    // one at a time so two GPU-heavy files do not fight over the 2 cores.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default'],
  },
});
