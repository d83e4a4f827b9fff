import { defineConfig } from 'vitest/config';

/** Cross-package tests: real processes on loopback, so files run one at a time. */
export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts', 'infra/**/*.test.ts', 'docs/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
