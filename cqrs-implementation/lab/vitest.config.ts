import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'cqrs',
    globalSetup: ['../../shared/src/testkit/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    // Budgets, not speed assertions: fault tests restart processes on a shared 2-core machine.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Every test file starts its own services; two at a time keeps a 2-core machine breathing.
    maxWorkers: 2,
  },
});
