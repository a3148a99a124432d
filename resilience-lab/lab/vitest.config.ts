import { defineConfig } from 'vitest/config';

// No globalSetup: the resilience lab uses no PostgreSQL, Redis or Kafka, so its tests must not
// wait for (or fail on) infrastructure they never touch.
export default defineConfig({
  test: {
    name: 'resilience',
    // Three files at a time, as every project of the root run (see the root vitest.config.ts).
    maxWorkers: Number(process.env.LAB_TEST_WORKERS ?? 3),
    // Files share their worker's modules (see the root vitest.config.ts); the setup file drops
    // what each file started or owns once it ends.
    isolate: false,
    setupFiles: ['../../shared/src/testkit/file-cleanup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
