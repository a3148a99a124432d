import { counter } from '@lab/shared/metrics';

/**
 * How queries with a consistency token ended (`GET /metrics`): reflected within the budget or
 * timed out. Operational, so it sits beside the domain rather than in it.
 */
const waits = counter(
  'cqrs_query_consistency_waits_total',
  'Queries that carried a consistency token, by result',
  ['result'],
);

export const recordConsistencyWait = (result: 'reflected' | 'timed-out') => {
  waits.inc({ result });
};
