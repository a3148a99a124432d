import { defineConfig } from 'vitest/config';

// One run covers every package that ships a vitest config; `pnpm --filter <pkg> test` runs one.
export default defineConfig({
  test: {
    projects: ['shared/vitest.config.ts', 'console/vitest.config.ts', '*/*/vitest.config.ts'],
  },
});
