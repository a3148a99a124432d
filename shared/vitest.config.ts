import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'shared',
    globalSetup: ['./src/testkit/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
