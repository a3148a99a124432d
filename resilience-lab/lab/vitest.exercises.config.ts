import { defineConfig } from 'vitest/config';

// Exercise checks fail by design until the exercise is done, so they live outside `pnpm test`;
// test/exercises.test.ts proves each fails on start/ and passes on solution/.
export default defineConfig({
  test: {
    name: 'resilience-exercises',
    include: ['exercises/**/check.test.ts'],
    // Drops what each check started or owns once it ends, also when it fails.
    setupFiles: ['../../shared/src/testkit/file-cleanup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
