import { counter, gauge, histogram } from '@lab/shared/metrics';

/**
 * The relay's operational metrics (`GET /metrics`): what it published, how late, and how often
 * the outbox gap held committed events back. Operational, not the pattern's rules, so they sit
 * beside the domain rather than in it.
 */
const published = counter('cqrs_relay_published_total', 'Outbox events published to Kafka');
const heldBackTotal = counter(
  'cqrs_relay_held_back_total',
  'Times committed events waited because an older transaction was still running (outbox gap)',
);
const publishLag = histogram(
  'cqrs_relay_publish_lag_seconds',
  'From the outbox insert to the event acknowledged by Kafka',
);
const batchPhase = histogram(
  'cqrs_relay_batch_phase_seconds',
  "Where the relay's time goes: waiting (per event, from its insert to the start of the batch that publishes it), then each published batch's round trips: claim (BEGIN and the claim), publish (to the Kafka ack), mark, commit",
  ['phase'],
);
const recent: { at: number; count: number }[] = [];
gauge(
  'cqrs_relay_published_per_second',
  'Events published per second over the last 10 s',
  [],
  function () {
    const since = Date.now() - 10_000;
    while ((recent[0]?.at ?? Infinity) < since) recent.shift();
    this.set(recent.reduce((sum, r) => sum + r.count, 0) / 10);
  },
);

/** When each round trip of a batch ended, in wall-clock milliseconds (0: not reached). */
export interface BatchTiming {
  began: number;
  claimed: number;
  acked: number;
  marked: number;
  committed: number;
}

/** One committed batch: the events it published, whether the gap held some back, its timing. */
export function recordBatch(occurredAt: Date[], heldBack: number, timing: BatchTiming): void {
  for (const at of occurredAt) {
    publishLag.observe((timing.acked - at.getTime()) / 1000);
    batchPhase.observe({ phase: 'waiting' }, (timing.began - at.getTime()) / 1000);
  }
  if (occurredAt.length > 0) {
    batchPhase.observe({ phase: 'claim' }, (timing.claimed - timing.began) / 1000);
    batchPhase.observe({ phase: 'publish' }, (timing.acked - timing.claimed) / 1000);
    batchPhase.observe({ phase: 'mark' }, (timing.marked - timing.acked) / 1000);
    batchPhase.observe({ phase: 'commit' }, (timing.committed - timing.marked) / 1000);
  }
  published.inc(occurredAt.length);
  recent.push({ at: Date.now(), count: occurredAt.length });
  if (heldBack > 0) heldBackTotal.inc();
}

/** `cqrs_outbox_backlog`: outbox rows not yet published, counted at each scrape (-1 while PostgreSQL does not answer). */
export function registerBacklogGauge(backlog: () => Promise<number>): void {
  gauge(
    'cqrs_outbox_backlog',
    'Outbox events committed but not yet published',
    [],
    async function () {
      this.set(await backlog().catch(() => -1));
    },
  );
}
