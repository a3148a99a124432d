export { resolveInfrastructure, type Infrastructure } from './infrastructure.ts';
export { uniqueName } from './names.ts';
export { serviceNodeArgs, spawnService, type SpawnedService, type SpawnOptions } from './spawn.ts';
export { waitFor, type WaitOptions } from './wait.ts';
export { percentile } from './stats.ts';
export {
  freePort,
  startPrivatePostgres,
  startPrivateRedis,
  type PrivatePostgres,
  type PrivateRedis,
} from './private-infra.ts';
