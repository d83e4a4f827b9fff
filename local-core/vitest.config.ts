import { defineConfig } from 'vitest/config';

/**
 * Two projects split by cost, as node-llama-cpp does: `unit` needs nothing, `model` loads a
 * real GGUF (HEARTH_TEST_MODEL, default ../shared/models/stories260K.gguf).
 */
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/**/*.model.test.ts'], testTimeout: 15_000 } },
      { test: { name: 'model', include: ['test/**/*.model.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 } },
    ],
  },
});
