import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'saga',
    globalSetup: ['../../shared/src/testkit/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    // Each file starts five services; on two cores, files side by side starve each other.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
