import type { Express } from 'express';
import { answerWithin, takesNothing } from '@lab/shared/http';
import type { CheckpointState } from '../../data-access/read-model.repository.ts';
import type { consumerPosition } from '../../infrastructure/consumer-position.ts';

interface Deps {
  topic: string;
  groupId: string;
  position: ReturnType<typeof consumerPosition>;
  checkpointState: () => Promise<CheckpointState>;
}

const ANSWER_WITHIN_MS = 1000;

function checkpointOf(deps: Deps): Promise<CheckpointState | 'unknown'> {
  return answerWithin(deps.checkpointState(), ANSWER_WITHIN_MS, 'unknown' as const);
}

/**
 * `GET /status`: how far the read model trails the event log (lag per partition, in events),
 * whether the read model is whole (its checkpoint `ready`) or being replayed after Redis lost it
 * (`healing`), and how many events were parked in the dead-letter topic. Each part answers on
 * its own: a broker or Redis that is away turns its part into null or `unknown`, not the answer
 * into an error, so an operator sees which side is missing.
 */
export function statusRoutes(app: Express, deps: Deps): void {
  app.get('/status', async (req, res) => {
    takesNothing(req);
    const [position, checkpoint] = await Promise.all([deps.position.read(), checkpointOf(deps)]);
    res.json({
      service: 'projector',
      topic: deps.topic,
      groupId: deps.groupId,
      kafkaReachable: position !== null,
      partitions: position?.partitions ?? null,
      lagEvents: position?.partitions.reduce((sum, p) => sum + p.lagEvents, 0) ?? null,
      deadLetters: position?.deadLetters ?? null,
      checkpoint,
    });
  });
}
