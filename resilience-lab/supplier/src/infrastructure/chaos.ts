import { z } from 'zod';
import { logNormalQuantile, mulberry32, standardNormal } from './seeded-random.ts';

export const ROUTES = ['prices', 'stock'] as const;
export type SupplierRoute = (typeof ROUTES)[number];

const rate = z.number().min(0).max(1);

/**
 * One route's fault settings. `down` answers 503 at once: both routes share one listener,
 * so a single route cannot refuse TCP connections; a supplier with no healthy instance behind
 * a load balancer looks exactly like this to its callers (fast 503s, no work done).
 */
export const chaosSettingsSchema = z
  .object({
    route: z.enum(ROUTES),
    latency: z
      .object({
        p50Ms: z.number().positive().max(60_000),
        p99Ms: z.number().positive().max(120_000),
      })
      .strict()
      .refine((l) => l.p99Ms >= l.p50Ms, { message: 'p99Ms must be at least p50Ms' })
      .optional(),
    errorRate: rate.optional(),
    hangRate: rate.optional(),
    resetRate: rate.optional(),
    down: z.boolean().optional(),
    /** Seconds to put in Retry-After on injected errors and on `down` answers. */
    retryAfterS: z.number().int().min(0).max(3600).optional(),
    seed: z.number().int().min(0).max(4_294_967_295).optional(),
  })
  .strict()
  .refine((s) => (s.errorRate ?? 0) + (s.hangRate ?? 0) + (s.resetRate ?? 0) <= 1, {
    message: 'errorRate + hangRate + resetRate must not exceed 1',
    path: ['errorRate'],
  });

export type ChaosSettings = z.infer<typeof chaosSettingsSchema>;

export type FaultKind = 'none' | 'error' | 'hang' | 'reset' | 'down';

export interface Fault {
  /** 1-based position in this route's sequence since its settings were last set. */
  seq: number;
  kind: FaultKind;
  latencyMs: number;
}

interface RouteChaos {
  settings: ChaosSettings;
  random: () => number;
  seq: number;
}

const DEFAULT_SEED = 1;

/**
 * Decides each call's fault. Every call consumes exactly three draws whatever the outcome,
 * so the sequence depends only on the seed and the number of calls: the same seed and the
 * same schedule replay the same faults, even if timings differ between runs.
 */
export class ChaosController {
  private readonly routes = new Map<SupplierRoute, RouteChaos>();

  set(settings: ChaosSettings): ChaosSettings {
    this.routes.set(settings.route, {
      settings,
      random: mulberry32(settings.seed ?? DEFAULT_SEED),
      seq: 0,
    });
    return settings;
  }

  settingsOf(route: SupplierRoute): ChaosSettings {
    return this.routes.get(route)?.settings ?? { route };
  }

  next(route: SupplierRoute): Fault {
    const state = this.routes.get(route);
    if (!state) return { seq: 0, kind: 'none', latencyMs: 0 };
    const { settings } = state;
    state.seq += 1;
    const pick = state.random();
    const z = standardNormal(state.random(), state.random());
    const latencyMs = settings.latency
      ? Math.round(logNormalQuantile(settings.latency.p50Ms, settings.latency.p99Ms, z))
      : 0;
    if (settings.down) return { seq: state.seq, kind: 'down', latencyMs: 0 };
    const errorRate = settings.errorRate ?? 0;
    const hangRate = settings.hangRate ?? 0;
    const resetRate = settings.resetRate ?? 0;
    let kind: FaultKind = 'none';
    if (pick < errorRate) kind = 'error';
    else if (pick < errorRate + hangRate) kind = 'hang';
    else if (pick < errorRate + hangRate + resetRate) kind = 'reset';
    return { seq: state.seq, kind, latencyMs };
  }
}
