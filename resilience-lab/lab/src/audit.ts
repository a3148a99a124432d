import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentResult } from './experiments/run-experiment.ts';

interface Transition {
  from: string;
  to: string;
  reason: string;
}

interface Status {
  poolConnections: number | null;
  dependencies: Record<
    string,
    {
      inFlight: number;
      opens: number;
      bulkhead: { active: number; queued: number; maxConcurrent: number; maxQueue: number } | null;
    }
  >;
}

/** The breaker state machine: any other move is a bug in the breaker or its wiring. */
const LEGAL = new Set(['closed>open', 'open>half-open', 'half-open>closed', 'half-open>open']);

/**
 * The invariants `pnpm lab resilience verify` audits. Each function adds what it finds to
 * `violations` and returns how many checks it made.
 */

/** A live gateway: its breakers only ever moved legally, its bulkheads never overflowed. */
export async function auditGateway(url: string, violations: string[]): Promise<number> {
  let checks = 0;
  const breakers = (await (await fetch(`${url}/breakers`)).json()) as Record<
    string,
    {
      state: string;
      transitions?: Transition[];
      opens?: number;
      /** Earlier transitions the gateway no longer lists (it keeps the most recent ones). */
      droppedTransitions?: number;
      options?: { volumeThreshold: number };
    }
  >;
  // The opens counter read on both sides of /status: a breaker of a gateway under load may open
  // between two reads, never so that /status counts fewer than before it or more than after.
  const opensBefore = await opensCounted(url);
  const status = (await (await fetch(`${url}/status`)).json()) as Status;
  const opensAfter = await opensCounted(url);
  for (const [name, breaker] of Object.entries(breakers)) {
    const transitions = breaker.transitions ?? [];
    const dropped = breaker.droppedTransitions ?? 0;
    // A breaker starts closed; once the gateway has forgotten its oldest transitions, the list
    // starts wherever those left it, and only the moves from there on can be checked.
    let previous = dropped > 0 ? (transitions[0]?.from ?? breaker.state) : 'closed';
    for (const t of transitions) {
      checks += 2;
      if (t.from !== previous)
        violations.push(`${name}: transition from ${t.from} but the breaker was ${previous}`);
      if (!LEGAL.has(`${t.from}>${t.to}`))
        violations.push(`${name}: illegal transition ${t.from} → ${t.to}`);
      checks += 1;
      if (
        t.from === 'closed' &&
        t.to === 'open' &&
        !/failure rate \d+% > \d+% over (\d+) calls/.test(t.reason)
      )
        violations.push(`${name}: opened without a failure-rate reason: ${t.reason}`);
      const volume = /over (\d+) calls/.exec(t.reason)?.[1];
      checks += 1;
      if (volume && breaker.options && Number(volume) < breaker.options.volumeThreshold)
        violations.push(
          `${name}: opened after ${volume} calls, below the volume threshold ${breaker.options.volumeThreshold}`,
        );
      previous = t.to;
    }
    checks += 1;
    if (transitions.length > 0 && previous !== breaker.state)
      violations.push(
        `${name}: state ${breaker.state} but the last transition went to ${previous}`,
      );
    // Every open is counted, listed or not: fewer opens than the list shows, or a different
    // number while nothing was forgotten, is a count the operator cannot trust.
    const listedOpens = transitions.filter((t) => t.to === 'open').length;
    if (breaker.opens !== undefined) {
      checks += 1;
      if (dropped === 0 ? breaker.opens !== listedOpens : breaker.opens < listedOpens)
        violations.push(
          `${name}: ${breaker.opens} opens counted but ${listedOpens} listed` +
            (dropped > 0 ? ` after ${dropped} forgotten transitions` : ''),
        );
    }
  }
  for (const [name, dep] of Object.entries(status.dependencies)) {
    // /status and /metrics count the same opens: one of them drifting hides a flapping breaker.
    const low = opensBefore.get(name) ?? 0;
    const high = opensAfter.get(name) ?? 0;
    checks += 1;
    if (dep.opens < low || dep.opens > high)
      violations.push(
        `${name}: /status reports ${dep.opens} opens, gateway_breaker_opens_total ${low === high ? low : `${low}..${high}`}`,
      );
    if (!dep.bulkhead) continue;
    checks += 3;
    if (dep.bulkhead.active > dep.bulkhead.maxConcurrent)
      violations.push(
        `${name}: ${dep.bulkhead.active} active calls above the bulkhead limit ${dep.bulkhead.maxConcurrent}`,
      );
    if (dep.bulkhead.queued > dep.bulkhead.maxQueue)
      violations.push(
        `${name}: ${dep.bulkhead.queued} queued above the bulkhead queue ${dep.bulkhead.maxQueue}`,
      );
    if (dep.inFlight > dep.bulkhead.maxConcurrent)
      violations.push(
        `${name}: ${dep.inFlight} supplier calls in flight, more than the bulkhead admits`,
      );
  }
  return checks;
}

/** gateway_breaker_opens_total per dependency, from the gateway's /metrics. */
async function opensCounted(url: string): Promise<Map<string, number>> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const lines = metrics.matchAll(/^gateway_breaker_opens_total\{dependency="([^"]+)"\} (\d+)$/gm);
  return new Map([...lines].map(([, name = '', n]) => [name, Number(n)]));
}

/** Saved experiment results: the protected variant stayed within the protections' bounds. */
export function auditResults(dir: string, violations: string[]): number {
  let checks = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const result = JSON.parse(readFileSync(join(dir, file), 'utf8')) as ExperimentResult;
    if (!Array.isArray(result.variants)) continue;
    const guarded = result.variants.find((v) => v.name === 'protected');
    if (!guarded) continue;
    const h = guarded.headline;
    const where = `${result.experiment}/protected`;
    checks += 3;
    // Defaults: two bulkheads of 5; retries at most 10% of requests plus a small floor.
    if (h.maxGatewayInFlight > 10)
      violations.push(`${where}: ${h.maxGatewayInFlight} calls in flight, above the bulkheads' 10`);
    if (h.retryAmplification > 1.3)
      violations.push(
        `${where}: retry amplification ${h.retryAmplification.toFixed(2)} exceeds the budget`,
      );
    if (h.breakerOpens > 0 && h.timeToOpenMs === null && result.experiment !== 'flapping')
      violations.push(`${where}: the breaker opened but never during the fault`);
    if (result.experiment === 'cascade') {
      checks += 1;
      if ((h.availabilitySuccessDuringFault ?? 0) < 0.99)
        violations.push(
          `${where}: /availability success ${h.availabilitySuccessDuringFault} < 99% while prices were slow`,
        );
    }
  }
  return checks;
}
