import { defineConfig } from 'vitest/config';

// One run covers every package that ships a vitest config; `pnpm --filter <pkg> test` runs one.
// Each project sets `maxWorkers: 3` itself (projects do not inherit it, and vitest would run
// projects with different counts one group after another): most of a file's time is spent
// waiting for the processes it started, so three files at a time fill two cores. At its peak
// that holds about 50 PostgreSQL connections; LAB_TEST_WORKERS=1 or 2 suits a server with fewer
// free.
//
// Each project also sets `isolate: false`: a worker runs its files one after another and loads
// the modules they share once (vitest, the test kit, the lab's helpers), where a fresh worker
// per file costs about a second of CPU on each of some seventy files. So a file leaves no state
// in a shared module behind it: what it starts or owns is dropped by the test kit's setup file
// (file-cleanup.ts) after the file, and a file that starts in-process telemetry shuts it down.
export default defineConfig({
  test: {
    projects: ['shared/vitest.config.ts', 'console/vitest.config.ts', '*/*/vitest.config.ts'],
  },
});
