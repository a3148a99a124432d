/**
 * Fault injection, the one way every lab service misbehaves on purpose.
 *
 * A service names its chaos TARGETS (the routes or operations a rule can hit, e.g. the
 * supplier's `prices` and `stock`, a saga participant's `action`, `confirmation` and
 * `compensation`) and the FAULTS it can suffer, and creates one `Chaos` engine:
 *
 *   const chaos = new Chaos({ targets: ['prices', 'stock'], faults: ['error', 'hang', 'reset', 'down'] });
 *   chaosRoutes(app, chaos, { enabled: config.LAB_CHAOS, logger });  // the /_chaos API
 *   app.get('/prices/:sku', chaosGate(chaos, 'prices'), handler);     // or chaos.decide('prices')
 *
 * The HTTP API is the same on every service, and exists only when the service runs with
 * LAB_CHAOS=1 (`enabled: false` mounts nothing, so `/_chaos` is a plain 404 in production):
 *
 *   POST   /_chaos  one rule for one target; replaces that target's previous rule
 *     { "target": "prices",                         required: one of the service's targets
 *       "faults": { "error": 0.2, "hang": 0.1 },    fraction of calls suffering each fault (sum <= 1)
 *       "latency": { "p50Ms": 40, "p99Ms": 400 },   extra delay before answering, log-normal
 *       "next": 2,                                  the rule removes itself after changing N calls
 *       "status": 503,                              the status of an `error` (5xx, default 500)
 *       "retryAfterS": 1,                           Retry-After on `error` and `down` answers
 *       "seed": 7 }                                 the seeded generator's seed (default 1)
 *   DELETE /_chaos             removes every rule;  DELETE /_chaos?target=prices removes one
 *   GET    /_chaos             { "rules": { "<target>": rule | null, ... }, ...what the service adds }
 *
 * A body the service cannot honour (unknown field, target or fault, a rate outside 0..1, rates
 * summing over 1, p99 under p50) is 400 problem+json naming the field, like any other input;
 * so is a body sent with DELETE, whose target goes in the query.
 *
 * The faults are the ways real dependencies fail their callers:
 * - error: an answer with a 5xx status and no effect, which a caller may retry;
 * - down: 503 at once with no work done, as a service with no healthy instance behind its
 *   load balancer looks to its callers;
 * - hang: no answer at all until the caller gives up (or `hangMaxMs` passes: then 504), which
 *   only a timeout on the caller's side ends;
 * - reset: the connection drops without an answer and without an effect;
 * - reject: a business "no" (409 `chaos-rejected`), which a saga answers with compensations;
 * - lose-response: the effect commits, then the connection drops, so the caller cannot tell
 *   whether it happened and must retry with the same idempotency key. Only the handler can
 *   commit first, so the gate only marks the call; the handler answers with `finishOrLose`.
 *
 * Every decision draws exactly three numbers from a seeded generator (mulberry32), whatever the
 * outcome, so the fault sequence depends only on the seed and the number of calls: the same
 * seed and the same schedule replay the same faults even when timings differ between runs,
 * which turns a chaos finding into an experiment someone else can rerun.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Express, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AppError, problems } from './http/errors.ts';
import { parse, takesNothing } from './http/validate.ts';

/** Every fault a service can offer; the cumulative draw tries them in this order. */
export const chaosFaults = ['error', 'hang', 'reset', 'down', 'reject', 'lose-response'] as const;
export type ChaosFault = (typeof chaosFaults)[number];

export interface ChaosOptions<T extends string, F extends ChaosFault> {
  /** The routes or operations a rule can target. */
  targets: readonly [T, ...T[]];
  /** The faults this service can suffer; a rule asking for another is refused with 400. */
  faults: readonly [F, ...F[]];
  /** How long a `hang` holds a call whose caller never gives up before it answers 504. */
  hangMaxMs?: number;
}

const rate = z.number().min(0).max(1);

export interface ChaosRule<T extends string = string, F extends ChaosFault = ChaosFault> {
  target: T;
  faults?: Partial<Record<F, number>>;
  latency?: { p50Ms: number; p99Ms: number };
  next?: number;
  status?: number;
  retryAfterS?: number;
  seed?: number;
}

/** The zod schema of a `POST /_chaos` body for these targets and faults. */
export function chaosRuleSchema<T extends string, F extends ChaosFault>(
  targets: readonly [T, ...T[]],
  faults: readonly [F, ...F[]],
) {
  const faultShape = Object.fromEntries(faults.map((fault) => [fault, rate.optional()])) as Record<
    F,
    z.ZodOptional<typeof rate>
  >;
  return z
    .object({
      target: z.enum(targets as unknown as [T, ...T[]]),
      faults: z
        .object(faultShape)
        .strict()
        .refine(
          (f) =>
            (Object.values(f as object) as (number | undefined)[]).reduce<number>(
              (a, r) => a + (r ?? 0),
              0,
            ) <= 1,
          { message: 'the fault rates must not add up to more than 1' },
        )
        .optional(),
      latency: z
        .object({
          p50Ms: z.number().positive().max(60_000),
          p99Ms: z.number().positive().max(120_000),
        })
        .strict()
        .refine((l) => l.p99Ms >= l.p50Ms, {
          message: 'p99Ms must be at least p50Ms',
          path: ['p99Ms'],
        })
        .optional(),
      next: z.number().int().min(1).max(1_000_000).optional(),
      status: z.number().int().min(500).max(599).optional(),
      retryAfterS: z.number().int().min(0).max(3600).optional(),
      seed: z.number().int().min(0).max(4_294_967_295).optional(),
    })
    .strict() as unknown as z.ZodType<ChaosRule<T, F>>;
}

/** What one call suffers. `seq` is its 1-based position since the target's rule was set. */
export interface ChaosDecision<F extends ChaosFault = ChaosFault> {
  seq: number;
  fault: F | 'none';
  latencyMs: number;
  /** The status an `error` answers with. */
  status: number;
  /** Seconds for Retry-After on `error` and `down`, when the rule set one. */
  retryAfterS: number | undefined;
}

/** mulberry32: 32 bits of state, so the same seed replays the same sequence call for call. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** z-score of the 99th percentile of the standard normal distribution. */
const Z99 = 2.326_347_874;

/**
 * Real latency is skewed: most calls near the median, a long tail far slower. A log-normal
 * fitted to p50 and p99 reproduces that tail, which is what makes timeouts and pools
 * misbehave; a fixed delay never would. ln(X) ~ N(mu, sigma), e^mu = p50, e^(mu + Z99 sigma) = p99.
 */
export function logNormalQuantile(p50Ms: number, p99Ms: number, z: number): number {
  const mu = Math.log(p50Ms);
  const sigma = Math.log(p99Ms / p50Ms) / Z99;
  return Math.exp(mu + sigma * z);
}

/** Box-Muller: two uniforms in, one standard normal draw out. */
export function standardNormal(u1: number, u2: number): number {
  const safe = Math.max(u1, Number.EPSILON);
  return Math.sqrt(-2 * Math.log(safe)) * Math.cos(2 * Math.PI * u2);
}

const DEFAULT_SEED = 1;
const DEFAULT_HANG_MAX_MS = 60_000;

interface TargetState<T extends string, F extends ChaosFault> {
  rule: ChaosRule<T, F>;
  random: () => number;
  seq: number;
  remaining: number | undefined;
}

export class Chaos<T extends string = string, F extends ChaosFault = ChaosFault> {
  readonly schema: z.ZodType<ChaosRule<T, F>>;
  readonly targetSchema: z.ZodType<{ target?: T | undefined }>;
  readonly hangMaxMs: number;
  readonly options: ChaosOptions<T, F>;
  private readonly states = new Map<T, TargetState<T, F>>();

  constructor(options: ChaosOptions<T, F>) {
    this.options = options;
    this.schema = chaosRuleSchema(options.targets, options.faults);
    this.targetSchema = z.object({ target: z.enum(options.targets).optional() }).strict();
    this.hangMaxMs = options.hangMaxMs ?? DEFAULT_HANG_MAX_MS;
  }

  /** Sets the rule of its target (validated: throws a ZodError on a bad rule). */
  set(rule: ChaosRule<T, F>): ChaosRule<T, F> {
    const valid = this.schema.parse(rule);
    this.states.set(valid.target, {
      rule: valid,
      random: mulberry32(valid.seed ?? DEFAULT_SEED),
      seq: 0,
      remaining: valid.next,
    });
    return valid;
  }

  /** Removes one target's rule, or every rule. */
  clear(target?: T): void {
    if (target === undefined) this.states.clear();
    else this.states.delete(target);
  }

  ruleOf(target: T): ChaosRule<T, F> | undefined {
    return this.states.get(target)?.rule;
  }

  describe(): Record<T, ChaosRule<T, F> | null> {
    return Object.fromEntries(
      this.options.targets.map((target) => [target, this.states.get(target)?.rule ?? null]),
    ) as Record<T, ChaosRule<T, F> | null>;
  }

  /** The fault and latency this call suffers; consumes one of the rule's `next` when it changes the call. */
  decide(target: T): ChaosDecision<F> {
    const state = this.states.get(target);
    if (!state) return { seq: 0, fault: 'none', latencyMs: 0, status: 500, retryAfterS: undefined };
    const { rule } = state;
    state.seq += 1;
    const pick = state.random();
    const z = standardNormal(state.random(), state.random());
    let fault: F | 'none' = 'none';
    let cumulative = 0;
    for (const candidate of chaosFaults) {
      const r = rule.faults?.[candidate as F];
      if (r === undefined) continue;
      cumulative += r;
      if (pick < cumulative) {
        fault = candidate as F;
        break;
      }
    }
    // A route that is down does no work, so it takes no latency; a reset drops the connection
    // once its latency has passed.
    const latencyMs =
      rule.latency && fault !== 'down'
        ? Math.round(logNormalQuantile(rule.latency.p50Ms, rule.latency.p99Ms, z))
        : 0;
    if (state.remaining !== undefined && (fault !== 'none' || latencyMs > 0)) {
      state.remaining -= 1;
      if (state.remaining <= 0) this.states.delete(target);
    }
    return {
      seq: state.seq,
      fault,
      latencyMs,
      status: rule.status ?? 500,
      retryAfterS: rule.retryAfterS,
    };
  }
}

export interface ChaosRoutesOptions {
  /** The service's LAB_CHAOS setting: without it nothing is mounted. */
  enabled: boolean;
  logger?: Logger;
  /** More for GET /_chaos to report beside the rules (e.g. the supplier's call counters). */
  report?: () => Record<string, unknown>;
}

/** An empty body (none, or `{}`) names nothing; anything else does, an empty array included. */
function namesAnything(body: unknown): boolean {
  if (body === undefined) return false;
  return !(
    typeof body === 'object' &&
    body !== null &&
    !Array.isArray(body) &&
    Object.keys(body).length === 0
  );
}

/** POST, DELETE and GET /_chaos, only when `enabled` (LAB_CHAOS=1). */
export function chaosRoutes<T extends string, F extends ChaosFault>(
  app: Express,
  chaos: Chaos<T, F>,
  options: ChaosRoutesOptions,
): void {
  if (!options.enabled) return;
  const describe = () => ({ rules: chaos.describe(), ...options.report?.() });
  app.post('/_chaos', (req, res) => {
    const rule = chaos.set(parse(req, 'body', chaos.schema));
    options.logger?.warn({ chaos: rule }, 'chaos: rule set');
    res.json(describe());
  });
  app.delete('/_chaos', (req, res) => {
    // The target goes in the query. A body that names anything (`{"target":"prices"}`) is
    // refused rather than ignored: ignored, it would remove every rule when the caller meant one.
    if (namesAnything(req.body))
      throw problems.validation([
        {
          path: 'body',
          message: 'DELETE /_chaos takes no body: name one target in the query, ?target=<name>',
          code: 'unrecognized_keys',
        },
      ]);
    const { target } = parse(req, 'query', chaos.targetSchema);
    chaos.clear(target);
    options.logger?.warn({ target: target ?? 'all' }, 'chaos: rule removed');
    res.json(describe());
  });
  app.get('/_chaos', (req, res) => {
    takesNothing(req);
    res.json(describe());
  });
}

/** Resolves false when the caller hung up first: a well-behaved server stops working then. */
async function wait(ms: number, res: Response): Promise<boolean> {
  if (res.destroyed || res.closed) return false;
  const callerGone = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) callerGone.abort();
  };
  res.once('close', onClose);
  try {
    await sleep(ms, undefined, { signal: callerGone.signal });
    return true;
  } catch {
    return false;
  } finally {
    res.off('close', onClose);
  }
}

/**
 * Applies the target's rule before the handler runs: waits the latency, then answers with the
 * fault, or marks a lost response for `finishOrLose`. The decision is left in
 * `res.locals.chaos` for handlers that log or count it.
 */
export function chaosGate<T extends string, F extends ChaosFault>(
  chaos: Chaos<T, F>,
  target: T,
): RequestHandler {
  return async (_req: Request, res: Response, next) => {
    const decision = chaos.decide(target);
    res.locals.chaos = decision;
    const retryAfter: Record<string, string> =
      decision.retryAfterS === undefined ? {} : { 'Retry-After': String(decision.retryAfterS) };
    if (decision.fault === 'down') {
      next(new AppError('chaos-down', 503, `Chaos: ${target} is down.`, { headers: retryAfter }));
      return;
    }
    if (decision.latencyMs > 0 && !(await wait(decision.latencyMs, res))) return;
    switch (decision.fault) {
      case 'error':
        next(
          new AppError('chaos-error', decision.status, `Chaos: this ${target} failed.`, {
            headers: retryAfter,
          }),
        );
        return;
      case 'reject':
        next(new AppError('chaos-rejected', 409, `Chaos: this ${target} is rejected.`));
        return;
      case 'hang':
        // No answer and no effect: only the caller's timeout ends this call, or hangMaxMs.
        if (await wait(chaos.hangMaxMs, res))
          next(new AppError('chaos-hang-expired', 504, 'Chaos: the hang outlived its maximum.'));
        return;
      case 'reset':
        res.socket?.destroy();
        return;
      default:
        res.locals.loseResponse = decision.fault === 'lose-response';
        next();
    }
  };
}

/** Sends the answer, or drops the connection after the commit when chaos said lose-response. */
export function finishOrLose(res: Response, status: number, body: unknown): void {
  if (res.locals.loseResponse === true) {
    res.socket?.destroy();
    return;
  }
  res.status(status).json(body);
}
