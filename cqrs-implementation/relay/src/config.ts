import { z } from 'zod';
import { env, loadConfig } from '@lab/shared/config';

const schema = z.object({
  PORT: env.port(3103),
  HOST: env.host(),
  // The relay reads the command side's outbox, so it connects to the command database.
  DATABASE_URL: env.databaseUrl(),
  DATABASE_NAME: env.identifier('cqrs_command'),
  KAFKA_BROKERS: env.kafkaBrokers(),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[\w.-]*$/)
    .default(''),
  LOG_LEVEL: env.logLevel(),
  RELAY_BATCH_SIZE: env.positiveInt(500),
  // Fallback when a NOTIFY is missed (the listening connection dropped): the relay still looks.
  RELAY_POLL_MS: env.positiveInt(500),
  LAB_CHAOS: env.flag(),
  // A learner's exercise module replacing some of this service's seams (src/seams.ts); only
  // with LAB_CHAOS=1, as production never loads code named by its environment.
  LAB_EXERCISE_MODULE: z.string().optional(),
  // Which of the lab's services with seams takes that module when `up` starts them all.
  LAB_EXERCISE_SERVICE: z.enum(['relay', 'projector', 'query-service']).optional(),
});

export type Config = z.infer<typeof schema>;
export const readConfig = (): Config => loadConfig('relay', schema);
