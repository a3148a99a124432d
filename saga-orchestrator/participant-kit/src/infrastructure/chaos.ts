/**
 * A participant's chaos, on the lab's one engine (@lab/shared/chaos). Each participant call is
 * an `action` (reserve, charge), a `confirmation` (confirm after the pivot) or a `compensation`
 * (cancel, refund); a rule on one of them makes those calls misbehave the way a real
 * participant does, and the orchestrator must cope:
 * - reject: a business "no" (409), which the orchestrator answers with compensations;
 * - error: a 5xx without effect, which the orchestrator retries;
 * - hang: no answer at all, which only the orchestrator's step timeout ends;
 * - reset: the connection drops before any effect;
 * - lose-response: the effect commits, then the connection drops, so the orchestrator cannot
 *   tell whether it happened and retries with the same idempotency key.
 * Latency (`latency: { p50Ms, p99Ms }`) applies to any of them.
 */
import { Chaos } from '@lab/shared/chaos';

export const participantChaosTargets = ['action', 'confirmation', 'compensation'] as const;
export type ParticipantChaosTarget = (typeof participantChaosTargets)[number];
const participantFaults = ['reject', 'error', 'hang', 'reset', 'lose-response'] as const;
export type ParticipantChaos = Chaos<ParticipantChaosTarget, (typeof participantFaults)[number]>;

export function participantChaos(): ParticipantChaos {
  return new Chaos({ targets: participantChaosTargets, faults: participantFaults });
}
