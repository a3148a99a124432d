import { hostname } from 'node:os';
import { z } from 'zod';
import { env, loadConfig, parseConfig } from '@lab/shared/config';

const DEFAULT_LEASE_TTL_MS = 5000;

const schema = z
  .object({
    PORT: env.port(3201),
    HOST: env.host(),
    LOG_LEVEL: env.logLevel(),
    DATABASE_URL: env.databaseUrl(),
    DATABASE_NAME: env.identifier('saga_orchestrator'),
    FLIGHTS_URL: env.url('http://127.0.0.1:3202'),
    HOTELS_URL: env.url('http://127.0.0.1:3203'),
    CARS_URL: env.url('http://127.0.0.1:3204'),
    PAYMENTS_URL: env.url('http://127.0.0.1:3205'),
    LAB_CHAOS: env.flag(),
    /** e.g. `after-call:charge-payment`; honoured only with LAB_CHAOS=1. */
    LAB_CRASH_AT: z.string().optional(),
    /** An exercise's module replacing some of the seams in seams.ts; only with LAB_CHAOS=1. */
    LAB_EXERCISE_MODULE: z.string().min(1).optional(),
    /** Stable per instance: restarted with a claim loop (SAGA_WORKER=1), it takes its own unfinished sagas back at once. */
    ORCHESTRATOR_ID: z.string().min(1).optional(),
    /**
     * `1` runs the trips it accepts and claims abandoned ones; `own` runs only the trips it
     * accepts (the crash test pins each crash to its own trips); `0` only accepts trips.
     */
    SAGA_WORKER: z.enum(['0', '1', 'own']).default('1'),
    /**
     * How long a saga stays this instance's without a write. Every write renews it, and the
     * longest time between two writes is a participant call (STEP_TIMEOUT_MS) or a backoff
     * (RETRY_MAX_MS): a lease shorter than that runs out during a call, and another instance
     * (or this one's claim loop) takes the saga while its call is still out. Unset, it is 5 s,
     * or that longest gap plus 2 s when the gap is longer.
     */
    LEASE_TTL_MS: z.coerce.number().int().positive().optional(),
    POLL_INTERVAL_MS: env.positiveInt(200),
    CLAIM_BATCH: env.positiveInt(100),
    MAX_IN_FLIGHT: env.positiveInt(1000),
    SAGA_DEADLINE_MS: env.positiveInt(60_000),
    STEP_TIMEOUT_MS: env.positiveInt(2000),
    STEP_DEADLINE_MS: env.positiveInt(15_000),
    STEP_MAX_ATTEMPTS: env.positiveInt(4),
    RETRY_BASE_MS: env.positiveInt(50),
    RETRY_MAX_MS: env.positiveInt(1000),
    COMPENSATION_STUCK_AFTER: env.positiveInt(8),
    DB_POOL_SIZE: env.positiveInt(20),
  })
  .superRefine((config, ctx) => {
    const gap = Math.max(config.STEP_TIMEOUT_MS, config.RETRY_MAX_MS);
    if (config.LEASE_TTL_MS !== undefined && config.LEASE_TTL_MS <= gap)
      ctx.addIssue({
        code: 'custom',
        path: ['LEASE_TTL_MS'],
        message: `must be longer than the longest time between two saga-log writes (STEP_TIMEOUT_MS or RETRY_MAX_MS, ${gap} ms here), or the lease runs out while a call is out`,
      });
  })
  .transform((config) => ({
    ...config,
    LEASE_TTL_MS:
      config.LEASE_TTL_MS ??
      Math.max(DEFAULT_LEASE_TTL_MS, Math.max(config.STEP_TIMEOUT_MS, config.RETRY_MAX_MS) + 2000),
    ORCHESTRATOR_ID: config.ORCHESTRATOR_ID ?? `${hostname()}:${config.PORT}`,
  }));

export type Config = z.infer<typeof schema>;
export const loadOrchestratorConfig = (source: Record<string, string | undefined> = process.env) =>
  loadConfig('orchestrator', schema, source);

/** The same parse, throwing ConfigError instead of exiting: for tests. */
export const parseOrchestratorConfig = (source: Record<string, string | undefined>) =>
  parseConfig('orchestrator', schema, source);
