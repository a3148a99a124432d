import { resolveInfrastructure, stopContainers } from './infrastructure.ts';

/**
 * Vitest global setup: resolves the infrastructure once per run and hands it to every test
 * worker through the environment, which workers inherit.
 */
export async function setup(): Promise<void> {
  const infra = await resolveInfrastructure();
  process.env.DATABASE_URL = infra.databaseUrl;
  process.env.REDIS_URL = infra.redisUrl;
  process.env.KAFKA_BROKERS = infra.kafkaBrokers;
  process.env.ZIPKIN_URL = infra.zipkinUrl;
}

export async function teardown(): Promise<void> {
  await stopContainers();
}
