export { resolveInfrastructure, type Infrastructure } from './infrastructure.ts';
export { exerciseDirs, exerciseModule, runExercise } from './exercises.ts';
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
export { median, percentile, roundRatio } from './stats.ts';
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

export { misfitArgs, taskExitCode, type TaskArgs } from './task-args.ts';
