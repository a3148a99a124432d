import type { ChaosBody } from '../client.ts';

export interface ScheduleStep {
  atS: number;
  chaos: ChaosBody[];
  label: string;
}

export interface Variant {
  name: string;
  gatewayEnv: Record<string, string>;
}

export interface ExperimentDefinition {
  name: string;
  question: string;
  durationS: number;
  faultStartS: number;
  faultEndS: number;
  steps: ScheduleStep[];
  variants: Variant[];
  ratePerSecond: { quotes: number; availability: number };
}

const clear: ChaosBody[] = [{ target: 'prices' }, { target: 'stock' }];
/** Healthy supplier: a few milliseconds, like a real service on a LAN. */
const healthy: ChaosBody[] = [
  { target: 'prices', latency: { p50Ms: 5, p99Ms: 25 }, seed: 1 },
  { target: 'stock', latency: { p50Ms: 5, p99Ms: 25 }, seed: 2 },
];

/** Shared by every variant: a small pool, and a breaker that probes quickly enough to see. */
const base = {
  POOL_CONNECTIONS: '10',
  BREAKER_RESET_TIMEOUT_MS: '2000',
  BREAKER_ROLLING_COUNT_TIMEOUT_MS: '3000',
  BREAKER_ROLLING_COUNT_BUCKETS: '6',
};
const unprotected: Variant = { name: 'unprotected', gatewayEnv: { ...base, PROTECTIONS: 'none' } };
const protectedAll: Variant = { name: 'protected', gatewayEnv: { ...base, PROTECTIONS: 'all' } };

function timing(quick: boolean, full: [number, number, number], short: [number, number, number]) {
  const [before, fault, after] = quick ? short : full;
  return { durationS: before + fault + after, faultStartS: before, faultEndS: before + fault };
}

export function experimentDefinition(name: string, quick: boolean): ExperimentDefinition {
  const rate = quick ? { quotes: 20, availability: 20 } : { quotes: 30, availability: 30 };
  switch (name) {
    case 'cascade': {
      const t = timing(quick, [10, 30, 20], [4, 10, 8]);
      return {
        name,
        question: 'When prices turn slow, does /availability (which never calls prices) suffer?',
        ...t,
        ratePerSecond: rate,
        steps: [
          { atS: 0, chaos: healthy, label: 'healthy' },
          {
            atS: t.faultStartS,
            chaos: [{ target: 'prices', latency: { p50Ms: 1500, p99Ms: 4000 }, seed: 7 }],
            label: 'prices slow (p50 1.5 s, p99 4 s)',
          },
          { atS: t.faultEndS, chaos: healthy, label: 'healed' },
        ],
        variants: [unprotected, protectedAll],
      };
    }
    case 'outage': {
      const t = timing(quick, [10, 20, 20], [4, 8, 8]);
      return {
        name,
        question:
          'When the supplier is down and comes back, what do callers see and how fast is it over?',
        ...t,
        ratePerSecond: rate,
        steps: [
          { atS: 0, chaos: healthy, label: 'healthy' },
          {
            atS: t.faultStartS,
            chaos: [
              { target: 'prices', faults: { down: 1 } },
              { target: 'stock', faults: { down: 1 } },
            ],
            label: 'supplier down (both routes 503)',
          },
          { atS: t.faultEndS, chaos: healthy, label: 'back' },
        ],
        variants: [unprotected, protectedAll],
      };
    }
    case 'flapping': {
      const t = timing(quick, [10, 30, 15], [4, 12, 6]);
      const period = quick ? 2 : 3;
      const steps: ScheduleStep[] = [{ atS: 0, chaos: healthy, label: 'healthy' }];
      for (let at = t.faultStartS, bad = true; at < t.faultEndS; at += period, bad = !bad) {
        steps.push({
          atS: at,
          chaos: bad ? [{ target: 'prices', faults: { error: 0.9 }, seed: at }] : healthy,
          label: bad ? 'prices failing 90%' : 'prices fine',
        });
      }
      steps.push({ atS: t.faultEndS, chaos: healthy, label: 'stable' });
      return {
        name,
        question: 'When errors come and go, does the breaker follow without thrashing the caller?',
        ...t,
        ratePerSecond: rate,
        steps,
        variants: [unprotected, protectedAll],
      };
    }
    case 'retry-storm': {
      const t = timing(quick, [10, 20, 15], [4, 8, 6]);
      return {
        name,
        question:
          'When every price call fails, how much extra load do retries put on the supplier?',
        ...t,
        ratePerSecond: rate,
        steps: [
          { atS: 0, chaos: healthy, label: 'healthy' },
          {
            atS: t.faultStartS,
            chaos: [
              {
                target: 'prices',
                faults: { error: 1 },
                latency: { p50Ms: 20, p99Ms: 80 },
                seed: 3,
              },
            ],
            label: 'prices fail 100%',
          },
          { atS: t.faultEndS, chaos: healthy, label: 'healed' },
        ],
        variants: [
          {
            name: 'naive-retries',
            gatewayEnv: {
              ...base,
              PROTECTIONS: 'retry',
              RETRY_MAX_ATTEMPTS: '4',
              RETRY_BASE_DELAY_MS: '10',
              RETRY_BUDGET_RATIO: '1',
              RETRY_BUDGET_BURST: '1000000',
            },
          },
          protectedAll,
        ],
      };
    }
    default:
      throw new Error(
        `Unknown experiment "${name}": use cascade, outage, flapping or retry-storm.`,
      );
  }
}

export const EXPERIMENTS = ['cascade', 'outage', 'flapping', 'retry-storm'] as const;
export { clear };
