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

/** One committed batch: the events it published and whether the gap held some back. */
export function recordBatch(occurredAt: Date[], heldBack: number): void {
  const now = Date.now();
  for (const at of occurredAt) publishLag.observe((now - at.getTime()) / 1000);
  published.inc(occurredAt.length);
  recent.push({ at: now, count: occurredAt.length });
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
