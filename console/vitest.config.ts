import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'console',
    include: ['test/**/*.test.ts'],
    globalSetup: ['../shared/src/testkit/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
