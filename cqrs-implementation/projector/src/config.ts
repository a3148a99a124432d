import { z } from 'zod';
import { env, loadConfig } from '@lab/shared/config';

const schema = z.object({
  PORT: env.port(3104),
  HOST: env.host(),
  REDIS_URL: env.redisUrl(),
  REDIS_KEY_PREFIX: z.string().default(''),
  KAFKA_BROKERS: env.kafkaBrokers(),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[\w.-]*$/)
    .default(''),
  LOG_LEVEL: env.logLevel(),
  // A dead projector's partitions wait this long before another member takes them.
  PROJECTOR_SESSION_TIMEOUT_MS: env.positiveInt(6000),
  // How often an idle projector looks for the read model's checkpoint in Redis (a store that
  // restarted empty has none); it also looks on every Redis reconnect.
  PROJECTOR_CHECKPOINT_CHECK_MS: env.positiveInt(1000),
  // How long GET /dead-letters and POST /dead-letters/replays may try to read the dead-letter
  // topic, connecting included, before answering 503 (dead-letters.ts, DEAD_LETTERS_TIMEOUT_MS).
  PROJECTOR_DEAD_LETTERS_TIMEOUT_MS: env.positiveInt(30_000),
  LAB_CHAOS: env.flag(),
  // A learner's exercise module replacing some of this service's seams (src/seams.ts); only
  // with LAB_CHAOS=1, as production never loads code named by its environment.
  LAB_EXERCISE_MODULE: z.string().optional(),
  // Which of the lab's services with seams takes that module when `up` starts them all.
  LAB_EXERCISE_SERVICE: z.enum(['relay', 'projector', 'query-service']).optional(),
  // Chaos knobs (only with LAB_CHAOS=1): a slow projector, a projector "bug" that rejects
  // some event types so they end up in the dead-letter topic, and a slow rebuild.
  PROJECTOR_APPLY_DELAY_MS: z.coerce.number().int().min(0).default(0),
  // A pause between the events a rebuild replays, so its window can be watched (and tested).
  PROJECTOR_REBUILD_PAUSE_MS: z.coerce.number().int().min(0).default(0),
  PROJECTOR_POISON_TYPES: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    ),
});

export type Config = z.infer<typeof schema>;
export const readConfig = (): Config => loadConfig('projector', schema);
