import { releaseOwned } from './resources.ts';
import { cleanupAllGroups } from './services.ts';

export { resolveInfrastructure, type Infrastructure } from './infrastructure.ts';
export { uniqueName } from './names.ts';
export {
  ANNOUNCE_ENV,
  serviceNodeArgs,
  spawnService,
  type ListeningMessage,
  type SpawnedService,
  type SpawnOptions,
} from './spawn.ts';
export {
  cleanupAllGroups,
  serviceGroup,
  type ServiceDefinition,
  type ServiceGroup,
  type ServiceGroupOptions,
} from './services.ts';
export { own, release, releaseOwned, type OwnedResources } from './resources.ts';
export { namesStartingWith, runLabCommand, type LabCommandResult } from './lab-command.ts';
export { waitFor, type WaitOptions } from './wait.ts';
export { percentile } from './stats.ts';
export {
  freePort,
  startPrivatePostgres,
  startPrivateRedis,
  type PrivatePostgres,
  type PrivateRedis,
} from './private-infra.ts';

/**
 * Inside a vitest worker, the test file that imports the test kit gets one more afterAll: it
 * stops every service the file started and drops every database, key prefix and topic it owns,
 * after the file's own afterAll hooks (vitest runs them last-registered first), so a file whose
 * tests failed half-way leaves nothing behind either.
 */
if (process.env.VITEST_WORKER_ID !== undefined) {
  const { afterAll } = await import('vitest');
  try {
    afterAll(async () => {
      await cleanupAllGroups();
      await releaseOwned();
    }, 60_000);
  } catch {
    // Imported outside a test file's collection (a global setup): nothing to attach to.
  }
}
