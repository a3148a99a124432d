import type { Express } from 'express';
import { z } from 'zod';
import { parse, problems, wholeNumber } from '@lab/shared/http';
import type { Kafka } from '@lab/shared/kafka';
import {
  listDeadLetters,
  replayDeadLetters,
  type DeadLetterTopics,
} from '../kafka/dead-letters.ts';

const Limit = z.object({ limit: wholeNumber({ min: 1, max: 1000, fallback: 100 }) }).strict();
const ReplayRequest = z.strictObject({});

/**
 * The dead letters for operators. `GET /dead-letters?limit=` lists the newest parked events
 * with the reason each was parked; `POST /dead-letters/replays` sends every one not replayed yet
 * back to the event topic and answers how many. One replay at a time: two would share the
 * replayer's consumer group and fight over its partitions. A broker that cannot be read to the
 * end within `timeoutMs` makes either a 503 dependency-unavailable.
 */
export function deadLetterRoutes(
  app: Express,
  kafka: Kafka,
  names: DeadLetterTopics,
  options: { timeoutMs?: number } = {},
): void {
  let replaying = false;
  app.get('/dead-letters', async (req, res) => {
    const { limit } = parse(req, 'query', Limit);
    const letters = await listDeadLetters(kafka, names, options);
    const newest = letters
      .sort((a, b) => Date.parse(b.failedAt) - Date.parse(a.failedAt))
      .slice(0, limit);
    res.json({ total: letters.length, deadLetters: newest });
  });
  app.post('/dead-letters/replays', async (req, res) => {
    parse(req, 'body', ReplayRequest);
    if (replaying)
      throw problems.conflict('replay-in-progress', 'A replay of the dead letters is running.');
    replaying = true;
    try {
      res.json({ replayed: await replayDeadLetters(kafka, names, options) });
    } finally {
      replaying = false;
    }
  });
}
