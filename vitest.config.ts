import { defineConfig } from 'vitest/config';

// One run covers every package that ships a vitest config; `pnpm --filter <pkg> test` runs one.
// Each project sets `maxWorkers: 3` itself (projects do not inherit it, and vitest would run
// projects with different counts one group after another): most of a file's time is spent
// waiting for the processes it started, so three files at a time fill two cores. At its peak
// that holds about 50 PostgreSQL connections; LAB_TEST_WORKERS=1 or 2 suits a server with fewer
// free.
export default defineConfig({
  test: {
    projects: ['shared/vitest.config.ts', 'console/vitest.config.ts', '*/*/vitest.config.ts'],
  },
});
