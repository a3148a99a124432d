import type { Express } from 'express';
import { createApp, onShutdown, start } from '@lab/shared/http';
import { createLogger } from '@lab/shared/logging';
import { createPool, databaseUrlFor, migrateWhileListening, type Pool } from '@lab/shared/pg';
import { chaosRoutes } from '@lab/shared/chaos';
import { participantChaos, type ParticipantChaos } from './infrastructure/chaos.ts';
import type { ParticipantConfig } from './config.ts';

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

/**
 * What every participant's start.ts calls once it has its settings and its routes: logger →
 * migrate its database (while listening: see migrateWhileListening) → pool → app (its routes, and with LAB_CHAOS=1 the /_chaos API and its
 * lab administration routes) → listen → graceful shutdown.
 */
export async function runParticipant(options: ParticipantOptions): Promise<void> {
  const { config, service } = options;
  const logger = createLogger(service, config.LOG_LEVEL);
  const schema = migrateWhileListening({
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
    readiness: { postgres: schema.readiness(() => pool.query('SELECT 1')) },
    routes: (routes) => {
      routes.use(schema.gate);
      options.routes(routes, { pool, chaos, config });
      chaosRoutes(routes, chaos, { enabled: config.LAB_CHAOS, logger });
      if (config.LAB_CHAOS) options.adminRoutes?.(routes, pool);
    },
  });
  const server = await start(app, config.PORT, config.HOST);
  logger.info({ url: server.url, chaos: config.LAB_CHAOS }, 'listening');
  onShutdown(logger, [server], [() => pool.end()]);
}
