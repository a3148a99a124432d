/**
 * What the lab's exercises may replace in the query service (through LAB_EXERCISE_MODULE,
 * with LAB_CHAOS=1) and the types their code is written against. The lab imports these from
 * `@lab/cqrs-query-service/seams`, never from the query service's internals.
 */
import { waitForToken } from './domain/consistency.ts';

export { decodeToken } from './domain/consistency.ts';
export type { ReadModelRepository } from './data-access/read-model.repository.ts';

/** `waitForToken`: the read-your-writes wait before a query with a token (exercise 04). */
export const querySeams = { waitForToken };
