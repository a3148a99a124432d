import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'console',
    // Three files at a time, as every project of the root run (see the root vitest.config.ts).
    maxWorkers: Number(process.env.LAB_TEST_WORKERS ?? 3),
    include: ['test/**/*.test.ts'],
    globalSetup: ['../shared/src/testkit/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
