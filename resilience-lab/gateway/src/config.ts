import { z } from 'zod';
import { env, loadConfig } from '@lab/shared/config';

export const PROTECTIONS = ['breaker', 'timeout', 'retry', 'bulkhead', 'fallback'] as const;
export type Protection = (typeof PROTECTIONS)[number];

/** `all`, `none`, or a comma list such as `breaker,timeout`: experiments switch each one. */
const protections = z
  .string()
  .default('all')
  .transform((value) => value.split(',').map((p) => p.trim()))
  .pipe(z.array(z.enum([...PROTECTIONS, 'all', 'none'])))
  .transform((list): ReadonlySet<Protection> => {
    if (list.includes('none')) return new Set();
    if (list.includes('all')) return new Set(PROTECTIONS);
    return new Set(list.filter((p): p is Protection => p !== 'all' && p !== 'none'));
  });

const nonNegativeInt = (fallback: number) => z.coerce.number().int().min(0).default(fallback);
const ratio = (fallback: number) => z.coerce.number().min(0).max(1).default(fallback);

export const configSchema = z.object({
  PORT: env.port(3301),
  HOST: env.host(),
  LOG_LEVEL: env.logLevel(),
  SUPPLIER_URL: env.url('http://127.0.0.1:3302'),
  /** The one bounded pool every supplier call shares, as a production HTTP client is set up. */
  POOL_CONNECTIONS: env.positiveInt(10),
  PROTECTIONS: protections,
  BREAKER_ERROR_THRESHOLD_PERCENTAGE: z.coerce.number().min(1).max(100).default(50),
  BREAKER_VOLUME_THRESHOLD: nonNegativeInt(10),
  BREAKER_ROLLING_COUNT_TIMEOUT_MS: env.positiveInt(5_000),
  BREAKER_ROLLING_COUNT_BUCKETS: env.positiveInt(5),
  BREAKER_RESET_TIMEOUT_MS: env.positiveInt(5_000),
  TIMEOUT_MS: env.positiveInt(800),
  /**
   * The whole call from its arrival, bulkhead queue and retries included; callers rarely wait
   * longer. A queued caller leaves the queue (bulkhead-full) once a slot could no longer leave
   * time for one attempt's timeout, and no retry starts that could not finish within it.
   */
  REQUEST_DEADLINE_MS: env.positiveInt(2_000),
  RETRY_MAX_ATTEMPTS: env.positiveInt(3),
  RETRY_BASE_DELAY_MS: env.positiveInt(50),
  RETRY_MAX_DELAY_MS: env.positiveInt(1_000),
  /** Longest Retry-After the gateway will wait out; a longer one ends the retries. */
  RETRY_AFTER_MAX_MS: env.positiveInt(3_000),
  RETRY_BUDGET_RATIO: ratio(0.1),
  RETRY_BUDGET_BURST: nonNegativeInt(10),
  RETRY_BUDGET_MIN_PER_SECOND: z.coerce.number().min(0).default(1),
  BULKHEAD_MAX_CONCURRENT: env.positiveInt(5),
  BULKHEAD_MAX_QUEUE: nonNegativeInt(10),
  /** Lab-only switches; LAB_EXERCISE_MODULE is refused without LAB_CHAOS (see src/seams.ts). */
  LAB_CHAOS: env.flag(),
  LAB_EXERCISE_MODULE: z.string().min(1).optional(),
});

export type GatewayConfig = z.infer<typeof configSchema>;

export const loadGatewayConfig = () => loadConfig('gateway', configSchema);
