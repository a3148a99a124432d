/**
 * A setup file of every vitest project of the repository (`setupFiles`), so it runs before each
 * test file, also in a worker that runs one file after another without reloading the modules
 * they share (`isolate: false`). It wraps the file once more: after everything else the file
 * does, its own afterAll hooks included, every service it started is stopped and every
 * database, key prefix and topic it owns is dropped. An aroundAll rather than an afterAll, so it
 * runs even when a test, a beforeAll or an afterAll of the file failed.
 */
import { aroundAll } from 'vitest';
import { releaseOwned } from './resources.ts';
import { cleanupAllGroups } from './services.ts';

aroundAll(async (runSuite) => {
  try {
    await runSuite();
  } finally {
    await cleanupAllGroups();
    await releaseOwned();
  }
}, 60_000);
