import { defineConfig } from 'vitest/config';

// Exercise checks fail by design until the exercise is done, so they are not in `pnpm test`;
// `pnpm lab saga exercise <n>` runs one, and test/exercises.test.ts proves both halves.
export default defineConfig({
  test: {
    name: 'saga-exercises',
    globalSetup: ['../../shared/src/testkit/global-setup.ts'],
    include: ['exercises/**/check.test.ts'],
    // Drops what each check started or owns once it ends, also when it fails.
    setupFiles: ['../../shared/src/testkit/file-cleanup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
