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
    // test/exercises.test.ts runs two of these at once (start and solution) and asks for 1 each.
    maxWorkers: Number(process.env.CQRS_EXERCISE_WORKERS ?? 2),
  },
});
