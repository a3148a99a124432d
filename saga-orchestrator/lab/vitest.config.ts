import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'saga',
    globalSetup: ['../../shared/src/testkit/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    // Each file starts five services; on two cores, files side by side starve each other.
    fileParallelism: false,
    // Five services per file beside the other labs' suites on one PostgreSQL (100 connections
    // by default): small pools queue briefly instead of refusing with "too many clients".
    env: { DB_POOL_SIZE: '5' },
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
