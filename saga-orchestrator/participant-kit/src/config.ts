import { z } from 'zod';
import { env } from '@lab/shared/config';

/** Every participant's settings; each participant's config.ts gives its own port and database. */
export function participantConfigSchema(defaults: { port: number; database: string }) {
  return z.object({
    PORT: env.port(defaults.port),
    HOST: env.host(),
    LOG_LEVEL: env.logLevel(),
    DATABASE_URL: env.databaseUrl(),
    DATABASE_NAME: env.identifier(defaults.database),
    LAB_CHAOS: env.flag(),
    /** How long a PENDING hold keeps its unit before it expires (the semantic lock's lease). */
    HOLD_TTL_MS: env.positiveInt(15 * 60_000),
    DB_POOL_SIZE: env.positiveInt(10),
  });
}
export type ParticipantConfig = z.infer<ReturnType<typeof participantConfigSchema>>;
