import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'saga',
    globalSetup: ['../../shared/src/testkit/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
