import { connect } from 'node:net';
import { zipkinReachable } from '../telemetry/zipkin.ts';

export interface Infrastructure {
  databaseUrl: string;
  redisUrl: string;
  kafkaBrokers: string;
  /** Zipkin's base URL: tests send spans to `${zipkinUrl}/api/v2/spans` and read traces back. */
  zipkinUrl: string;
}

const LOCAL: Infrastructure = {
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: 'redis://127.0.0.1:6379',
  kafkaBrokers: '127.0.0.1:9092',
  zipkinUrl: 'http://127.0.0.1:9411',
};

function reachable(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => {
      done(false);
    });
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}

function hostPort(url: string, fallbackPort: number): [string, number] {
  const parsed = new URL(url.includes('://') ? url : `tcp://${url}`);
  return [parsed.hostname, Number(parsed.port || fallbackPort)];
}

async function allReachable(infra: Omit<Infrastructure, 'zipkinUrl'>): Promise<string[]> {
  const checks: [string, string, number][] = [
    ['PostgreSQL', ...hostPort(infra.databaseUrl, 5432)],
    ['Redis', ...hostPort(infra.redisUrl, 6379)],
    ['Kafka', ...hostPort(infra.kafkaBrokers.split(',')[0] ?? '', 9092)],
  ];
  const results = await Promise.all(
    checks.map(async ([name, host, port]) => [name, await reachable(host, port)] as const),
  );
  return results.filter(([, ok]) => !ok).map(([name]) => name);
}

let containers: { stop: () => Promise<unknown> }[] = [];

async function dockerAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/** PostgreSQL, Redis and Kafka in containers, for machines with Docker and nothing running. */
async function startContainers(): Promise<Omit<Infrastructure, 'zipkinUrl'>> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const postgres = await new GenericContainer('postgres:17-alpine')
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  const redis = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
  // The broker version docker-compose.yml and `pnpm infra:local` run. Kafka advertises the
  // address clients must use; a fixed host port keeps that address valid.
  const kafka = await new GenericContainer('apache/kafka:4.4.0')
    .withExposedPorts({ container: 9092, host: 19092 })
    .withEnvironment({
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://127.0.0.1:19092',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  containers = [postgres, redis, kafka];
  return {
    databaseUrl: `postgres://postgres@${postgres.getHost()}:${postgres.getMappedPort(5432)}/postgres`,
    redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
    kafkaBrokers: '127.0.0.1:19092',
  };
}

/** Zipkin in a container, the same release `pnpm infra:local up` runs. */
async function startZipkinContainer(): Promise<string> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const zipkin = await new GenericContainer('openzipkin/zipkin:3.5.1')
    .withExposedPorts(9411)
    .withWaitStrategy(Wait.forHttp('/health', 9411))
    .start();
  containers.push(zipkin);
  return `http://${zipkin.getHost()}:${zipkin.getMappedPort(9411)}`;
}

async function resolveStores(env: NodeJS.ProcessEnv): Promise<Omit<Infrastructure, 'zipkinUrl'>> {
  const configured = {
    databaseUrl: env.DATABASE_URL ?? LOCAL.databaseUrl,
    redisUrl: env.REDIS_URL ?? LOCAL.redisUrl,
    kafkaBrokers: env.KAFKA_BROKERS ?? LOCAL.kafkaBrokers,
  };
  const missing = await allReachable(configured);
  if (missing.length === 0) return configured;
  const explicit = env.DATABASE_URL ?? env.REDIS_URL ?? env.KAFKA_BROKERS;
  if (!explicit && (await dockerAvailable())) return startContainers();
  throw new Error(
    `${missing.join(', ')} not reachable (${JSON.stringify(configured)}). ` +
      'Start the infrastructure with `pnpm infra:local up` (no Docker needed), or run Docker so ' +
      'the tests can start containers, or point DATABASE_URL / REDIS_URL / KAFKA_BROKERS at yours.',
  );
}

/**
 * Zipkin, where the tracing tests read a user action's trace back through Zipkin's own API:
 * ZIPKIN_URL when set, else the `pnpm infra:local` default when it answers as Zipkin, else a
 * container when Docker runs here.
 */
async function resolveZipkin(env: NodeJS.ProcessEnv): Promise<string> {
  const configured = env.ZIPKIN_URL ?? LOCAL.zipkinUrl;
  if (await zipkinReachable(configured, 2000)) return configured;
  if (!env.ZIPKIN_URL && (await dockerAvailable())) return startZipkinContainer();
  throw new Error(
    `Zipkin not reachable at ${configured}. Start it with \`pnpm infra:local up\` (it runs ` +
      'Zipkin on 127.0.0.1:9411 next to PostgreSQL, Redis and Kafka), or run Docker so the ' +
      'tests can start a container, or point ZIPKIN_URL at yours.',
  );
}

/**
 * Where the tests find PostgreSQL, Redis, Kafka and Zipkin: DATABASE_URL / REDIS_URL /
 * KAFKA_BROKERS / ZIPKIN_URL when set, else the `pnpm infra:local` defaults when they answer,
 * else containers when Docker runs here. Otherwise it fails with what to do, rather than
 * letting every test time out.
 */
export async function resolveInfrastructure(env = process.env): Promise<Infrastructure> {
  const stores = await resolveStores(env);
  return { ...stores, zipkinUrl: await resolveZipkin(env) };
}

export async function stopContainers(): Promise<void> {
  await Promise.all(containers.map((container) => container.stop()));
  containers = [];
}
