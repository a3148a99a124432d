import { isDependencyUnavailable } from '@lab/shared/errors';
import { counter, gauge, histogram } from '@lab/shared/metrics';

export const sagaMetrics = {
  started: counter('saga_trips_started_total', 'Trips accepted by POST /trips'),
  finished: counter('saga_trips_finished_total', 'Sagas that reached a terminal or stuck state', [
    'status',
  ]),
  stepDuration: histogram(
    'saga_step_duration_seconds',
    'One participant call of a step or compensation, by outcome',
    ['step', 'outcome'],
  ),
  retries: counter(
    'saga_step_retries_total',
    'Failed attempts that were retried: transient failures, and any failure of a compensation',
    ['step'],
  ),
  compensations: counter('saga_compensations_total', 'Compensations that completed', ['step']),
  leaseLost: counter(
    'saga_lease_lost_total',
    'Writes refused by the fence: another instance owns the saga',
  ),
  inFlight: gauge('saga_in_flight', 'Sagas this instance is driving right now'),
  // Its count is the saga log's step-write transactions, its sum the writes they carried: how
  // many round trips and WAL flushes group commit saved under the current load.
  groupCommitSize: histogram(
    'saga_log_group_commit_size',
    'Step writes (a step done and the next attempt started) committed together in one transaction',
    [],
    [1, 2, 4, 8, 16, 32, 64, 100],
  ),
  // What every step pays before its participant call: the saga log is written ahead, so this
  // wait (the step statement, planned, run and committed, and under load the group commit in
  // flight ahead of it) is on the critical path of each step, beside the HTTP hop.
  logWriteDuration: histogram(
    'saga_log_write_duration_seconds',
    'Time a step write (a step done, the next attempt started) waited until the saga log committed it',
    [],
    [0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  ),
};

/**
 * The saga log's unfinished sagas by state, all instances together. Finished ones are counted by
 * `saga_trips_finished_total`: a gauge of them would only grow, and reading them on each scrape
 * would cost more with every trip ever booked.
 */
export function unfinishedSagas(count: () => Promise<Record<string, number>>) {
  return gauge(
    'saga_sagas',
    'Sagas in the log not finished yet, by state (all instances)',
    ['status'],
    async function () {
      this.reset();
      // With the saga log unreachable this gauge is left empty: /metrics still serves the
      // process's other metrics, which are what an operator looks at during an outage.
      const counts = await count().catch((error: unknown) => {
        if (isDependencyUnavailable(error)) return {};
        throw error;
      });
      for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
    },
  );
}
