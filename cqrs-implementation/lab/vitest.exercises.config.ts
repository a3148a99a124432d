import { defineConfig } from 'vitest/config';

// Exercise checks are not part of `pnpm test` as they stand: they fail until the exercise is
// done. `pnpm lab cqrs exercise <n>` runs one; test/exercises.test.ts proves both halves.
export default defineConfig({
  test: {
    name: 'cqrs-exercises',
    globalSetup: ['../../shared/src/testkit/global-setup.ts'],
    include: ['exercises/**/check.test.ts'],
    // Drops what each check started or owns once it ends, also when it fails.
    setupFiles: ['../../shared/src/testkit/file-cleanup.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Each check starts a stack of four services: two at a time on a 2-core machine.
    // test/exercises.test.ts runs two of these at once (start and solution), one check each.
    maxWorkers: 2,
  },
});
