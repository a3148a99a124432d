import { gauge } from '@lab/shared/metrics';
import type { ConsumerPosition } from './consumer-position.ts';

/**
 * `cqrs_projector_lag_events`: how far the group's committed offsets trail the end of each
 * partition, summed, read from the broker at each scrape (-1 while the broker does not answer).
 * The same reading as GET /status's per-partition lag, so the gauge and the status page never
 * disagree about a log whose start retention has moved.
 */
export function registerLagGauge(position: { read: () => Promise<ConsumerPosition | null> }) {
  gauge(
    'cqrs_projector_lag_events',
    'Events on the topic not yet committed by the projector',
    [],
    async function () {
      const now = await position.read();
      this.set(now ? now.partitions.reduce((sum, p) => sum + p.lagEvents, 0) : -1);
    },
  );
}
