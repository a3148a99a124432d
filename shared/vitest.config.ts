import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'shared',
    // Three files at a time, as every project of the root run (see the root vitest.config.ts).
    maxWorkers: Number(process.env.LAB_TEST_WORKERS ?? 3),
    // Files share their worker's modules (see the root vitest.config.ts); the setup file drops
    // what each file started or owns once it ends.
    isolate: false,
    setupFiles: ['./src/testkit/file-cleanup.ts'],
    globalSetup: ['./src/testkit/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
