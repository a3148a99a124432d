/**
 * What the lab's exercises may replace in the in-process wiring (through LAB_EXERCISE_MODULE,
 * with LAB_CHAOS=1), and the types their code is written against.
 */
import { compute } from './data-access/in-process-supplier.ts';

export type { Compute } from './data-access/in-process-supplier.ts';

/** `compute`: how the supplier's module spends a slow call's time (exercise 06). */
export const monolithSeams = { compute };
