import type { Express } from 'express';
import { takesNothing } from '@lab/shared/http';
import { registry } from '@lab/shared/metrics';
import type { Pool } from '@lab/shared/pg';
import { outboxStatus } from '../../data-access/outbox-status.query.ts';
import type { topicEnds } from '../../infrastructure/topic-ends.ts';

interface Deps {
  pool: Pool;
  topic: string;
  ends: ReturnType<typeof topicEnds>;
}

async function publishedSinceStart(): Promise<number> {
  const metric = await registry.getSingleMetric('cqrs_relay_published_total')?.get();
  return metric?.values[0]?.value ?? 0;
}

/**
 * `GET /status`: what the relay still owes Kafka (the outbox backlog and how long its oldest
 * row has waited) and what it has delivered (the event topic's end offsets per partition). A
 * backlog that grows while the ends stand still is a relay that cannot publish; ends that run
 * ahead of a consumer's committed offsets are that consumer's lag.
 */
export function statusRoutes(app: Express, { pool, topic, ends }: Deps): void {
  app.get('/status', async (req, res) => {
    takesNothing(req);
    const [outbox, partitions, published] = await Promise.all([
      outboxStatus(pool),
      ends.read(),
      publishedSinceStart(),
    ]);
    res.json({
      service: 'relay',
      outbox,
      publishedSinceStart: published,
      topic: {
        name: topic,
        reachable: partitions !== null,
        partitions,
        events: partitions?.reduce((sum, p) => sum + p.end, 0) ?? null,
      },
    });
  });
}
