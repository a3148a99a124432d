import type { Express } from 'express';
import { z } from 'zod';
import { env, loadConfig } from '@lab/shared/config';
import { createApp, onShutdown, start } from '@lab/shared/http';
import { createLogger } from '@lab/shared/logging';
import { createPool, databaseUrlFor, migrate, type Pool } from '@lab/shared/pg';
import { chaosRoutes } from '@lab/shared/chaos';
import { participantChaos, type ParticipantChaos } from './infrastructure/chaos.ts';
import { inventoryRoutes, reservationRoutes } from './entry-points/api/reservations.routes.ts';

export function participantConfigSchema(defaults: { port: number; database: string }) {
  return z.object({
    PORT: env.port(defaults.port),
    HOST: env.host(),
    DATABASE_URL: env.databaseUrl(),
    DATABASE_NAME: env.identifier(defaults.database),
    LAB_CHAOS: env.flag(),
    /** How long a PENDING hold keeps its unit before it expires (the semantic lock's lease). */
    HOLD_TTL_MS: env.positiveInt(15 * 60_000),
    DB_POOL_SIZE: env.positiveInt(10),
  });
}
export type ParticipantConfig = z.infer<ReturnType<typeof participantConfigSchema>>;

export interface ParticipantOptions {
  service: string;
  config: ParticipantConfig;
  migrationsDir: string;
  routes: (
    app: Express,
    deps: { pool: Pool; chaos: ParticipantChaos; config: ParticipantConfig },
  ) => void;
  /** Lab administration routes, mounted only when LAB_CHAOS=1. */
  adminRoutes?: (app: Express, pool: Pool) => void;
}

/** start.ts of every participant: config → logger → migrate → pool → app → listen → shutdown. */
export async function runParticipant(options: ParticipantOptions): Promise<void> {
  const { config, service } = options;
  const logger = createLogger(service);
  await migrate({
    adminUrl: config.DATABASE_URL,
    database: config.DATABASE_NAME,
    dir: options.migrationsDir,
    logger,
  });
  const pool = createPool(databaseUrlFor(config.DATABASE_URL, config.DATABASE_NAME), {
    max: config.DB_POOL_SIZE,
    logger,
  });
  const chaos = participantChaos();
  const app = createApp({
    service,
    logger,
    readiness: { postgres: () => pool.query('SELECT 1') },
    routes: (routes) => {
      options.routes(routes, { pool, chaos, config });
      chaosRoutes(routes, chaos, { enabled: config.LAB_CHAOS, logger });
      if (config.LAB_CHAOS) options.adminRoutes?.(routes, pool);
    },
  });
  const server = await start(app, config.PORT, config.HOST);
  logger.info({ url: server.url, chaos: config.LAB_CHAOS }, 'listening');
  onShutdown(logger, [server], [() => pool.end()]);
}

/** Flights, hotels and cars are the same participant: limited inventory held by reservations. */
export async function runInventoryParticipant(
  service: string,
  defaults: { port: number; database: string },
) {
  const config = loadConfig(service, participantConfigSchema(defaults));
  await runParticipant({
    service,
    config,
    migrationsDir: new URL('./data-access/migrations', import.meta.url).pathname,
    routes: (app, deps) => {
      reservationRoutes(app, { ...deps, holdTtlMs: deps.config.HOLD_TTL_MS });
    },
    adminRoutes: inventoryRoutes,
  });
}
