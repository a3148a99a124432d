import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'saga',
    // Three files at a time, as every project of the root run (see the root vitest.config.ts).
    maxWorkers: Number(process.env.LAB_TEST_WORKERS ?? 3),
    // Files share their worker's modules (see the root vitest.config.ts); the setup file drops
    // what each file started or owns once it ends.
    isolate: false,
    setupFiles: ['../../shared/src/testkit/file-cleanup.ts'],
    globalSetup: ['../../shared/src/testkit/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    // Five services per file beside the other labs' suites on one PostgreSQL (100 connections
    // by default): small pools queue briefly instead of refusing with "too many clients".
    env: { DB_POOL_SIZE: '5' },
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
