import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'cqrs',
    // Three files at a time, as every project of the root run (see the root vitest.config.ts).
    maxWorkers: Number(process.env.LAB_TEST_WORKERS ?? 3),
    // Files share their worker's modules (see the root vitest.config.ts); the setup file drops
    // what each file started or owns once it ends.
    isolate: false,
    setupFiles: ['../../shared/src/testkit/file-cleanup.ts'],
    globalSetup: ['../../shared/src/testkit/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    // Budgets, not speed assertions: fault tests restart processes on a shared 2-core machine.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
