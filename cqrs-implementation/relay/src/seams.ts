/**
 * What the lab's exercises may replace in the relay (through LAB_EXERCISE_MODULE, with
 * LAB_CHAOS=1) and the types their code is written against. The lab imports these from
 * `@lab/cqrs-relay/seams`, never from the relay's internals.
 */
import { claimSettledPrefix } from './data-access/outbox-claim.ts';

export type { Claim, ClaimStrategy, OutboxRow } from './data-access/outbox-claim.ts';

/** `claim`: how a relay picks the next outbox events to publish (exercises 01 and 02). */
export const relaySeams = { claim: claimSettledPrefix };
