import { z } from 'zod';

/**
 * Fault injection for the lab. Each participant call is an action (reserve, charge), a
 * confirmation (confirm after the pivot) or a compensation (cancel, refund); a rule makes the
 * next N calls of one kind, or a seeded fraction of them, misbehave the way real dependencies do:
 * - reject: a business "no" (409), which the orchestrator answers with compensations;
 * - error: a 500 without effect, which the orchestrator retries;
 * - hang: no answer at all, which only a timeout on the caller's side ends;
 * - lose-response: the effect commits, then the connection drops, so the caller cannot tell
 *   whether it happened and must retry with the same idempotency key.
 */
export const chaosTargets = ['action', 'confirmation', 'compensation'] as const;
export type ChaosTarget = (typeof chaosTargets)[number];
export type ChaosFault = 'reject' | 'error' | 'hang' | 'lose-response';

export const ChaosRequest = z
  .object({
    mode: z.enum(['reject', 'error', 'hang', 'lose-response', 'off']),
    next: z.number().int().min(1).max(1_000_000).optional(),
    rate: z.number().min(0).max(1).optional(),
    seed: z.number().int().optional(),
    on: z.enum(chaosTargets).optional(),
  })
  .strict();
export type ChaosRequest = z.infer<typeof ChaosRequest>;

interface Rule {
  mode: ChaosFault;
  remaining: number | undefined;
  rate: number | undefined;
  random: () => number;
}

/** mulberry32: a seeded generator, so "30% of calls fail" is the same 30% on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Chaos {
  private readonly rules = new Map<ChaosTarget, Rule>();

  configure(request: ChaosRequest): void {
    if (request.mode === 'off') {
      if (request.on) this.rules.delete(request.on);
      else this.rules.clear();
      return;
    }
    this.rules.set(request.on ?? 'action', {
      mode: request.mode,
      remaining: request.next,
      rate: request.rate,
      random: seeded(request.seed ?? Date.now()),
    });
  }

  /** The fault this call suffers, if any; consumes one of the "next N". */
  decide(target: ChaosTarget): ChaosFault | undefined {
    const rule = this.rules.get(target);
    if (!rule) return undefined;
    if (rule.rate !== undefined && rule.random() >= rule.rate) return undefined;
    if (rule.remaining !== undefined) {
      rule.remaining -= 1;
      if (rule.remaining <= 0) this.rules.delete(target);
    }
    return rule.mode;
  }

  describe(): Record<string, unknown> {
    return Object.fromEntries(
      [...this.rules].map(([target, rule]) => [
        target,
        { mode: rule.mode, remaining: rule.remaining, rate: rule.rate },
      ]),
    );
  }
}
