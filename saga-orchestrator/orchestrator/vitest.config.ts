import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'saga-orchestrator',
    include: ['test/**/*.test.ts'],
  },
});
