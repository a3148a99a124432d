/**
 * What the lab's exercises may replace in the monolith (through LAB_EXERCISE_MODULE, with
 * LAB_CHAOS=1), and the types their code is written against.
 */
import { customerOrderIds } from './data-access/write-model-reads.ts';

export type { CustomerOrderIds } from './data-access/write-model-reads.ts';

/** `customerOrderIds`: one page of GET /customers/:id/orders, by SQL (exercise 06). */
export const monolithSeams = { customerOrderIds };
