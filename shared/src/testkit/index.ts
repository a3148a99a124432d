import { releaseOwned } from './resources.ts';
import { cleanupAllGroups } from './services.ts';

export { resolveInfrastructure, type Infrastructure } from './infrastructure.ts';
export { exerciseModule } from './exercises.ts';
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
export {
  deleteGroupsOnceEmpty,
  own,
  release,
  releaseOwned,
  type OwnedResources,
} from './resources.ts';
export {
  namesStartingWith,
  runLabCommand,
  type LabCommandResult,
  type StopWhenReady,
} from './lab-command.ts';
export { reportEarlyExits, startUnlessStopped, stopRequested } from './stop-request.ts';
export { waitFor, type WaitOptions } from './wait.ts';
export { forgetLeftover, rememberLeftover, type Leftover } from './leftovers.ts';
export { percentile, roundRatio } from './stats.ts';
export { seqScansOf } from './plans.ts';
export {
  mainThreadProfile,
  profileTable,
  PROFILE_READING,
  SOCKET_WRITES_OWNER,
  summariseProfile,
  type ProfiledService,
  type ProfileShare,
  type ProfileSummary,
} from './cpu-profile.ts';
export {
  closedLoop,
  codeLines,
  cpuMeter,
  cpuMsOf,
  findProcess,
  loadedFiles,
  rssBytesOf,
  wiringCode,
  type LoadResult,
  type WiringCode,
} from './receipt.ts';
export { memorySpans, spanFileProcessor, toSpanRecord, traceFileFromEnv } from './trace-export.ts';
export type { SpanRecord } from '../telemetry/index.ts';
export {
  freePort,
  startPrivatePostgres,
  startPrivateRedis,
  type PrivatePostgres,
  type PrivateRedis,
} from './private-infra.ts';

/**
 * Inside a vitest worker, the test file that imports the test kit is wrapped once more: after
 * everything else the file does, its own afterAll hooks included, every service it started is
 * stopped and every database, key prefix and topic it owns is dropped. An aroundAll rather than
 * an afterAll, so it runs even when a test, a beforeAll or an afterAll of the file failed.
 */
// The worker global, not only the environment: a lab CLI that a test runs as a child process
// inherits VITEST_WORKER_ID but is no test file.
if (process.env.VITEST_WORKER_ID !== undefined && '__vitest_worker__' in globalThis) {
  const { aroundAll } = await import('vitest');
  try {
    aroundAll(async (runSuite) => {
      try {
        await runSuite();
      } finally {
        await cleanupAllGroups();
        await releaseOwned();
      }
    }, 60_000);
  } catch {
    // Imported outside a test file's collection (a global setup): nothing to wrap.
  }
}
export { misfitArgs, type TaskArgs } from './task-args.ts';
