import { connect } from 'node:net';

export interface Infrastructure {
  databaseUrl: string;
  redisUrl: string;
  kafkaBrokers: string;
}

const LOCAL: Infrastructure = {
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: 'redis://127.0.0.1:6379',
  kafkaBrokers: '127.0.0.1:9092',
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

async function allReachable(infra: Infrastructure): Promise<string[]> {
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
async function startContainers(): Promise<Infrastructure> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const postgres = await new GenericContainer('postgres:17-alpine')
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  const redis = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
  // Kafka advertises the address clients must use; a fixed host port keeps that address valid.
  const kafka = await new GenericContainer('apache/kafka:4.1.1')
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

/**
 * Where the tests find PostgreSQL, Redis and Kafka: DATABASE_URL / REDIS_URL / KAFKA_BROKERS
 * when set, else the `pnpm infra:local` defaults when they answer, else containers when Docker
 * runs here. Otherwise it fails with what to do, rather than letting every test time out.
 */
export async function resolveInfrastructure(env = process.env): Promise<Infrastructure> {
  const configured: Infrastructure = {
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

export async function stopContainers(): Promise<void> {
  await Promise.all(containers.map((container) => container.stop()));
  containers = [];
}
