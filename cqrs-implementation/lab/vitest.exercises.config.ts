import { defineConfig } from 'vitest/config';

// Exercise checks are not part of `pnpm test` as they stand: they fail until the exercise is
// done. `pnpm lab cqrs exercise <n>` runs one; test/exercises.test.ts proves both halves.
export default defineConfig({
  test: {
    name: 'cqrs-exercises',
    globalSetup: ['../../shared/src/testkit/global-setup.ts'],
    include: ['exercises/**/check.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    maxWorkers: 2,
  },
});
