import { join } from 'node:path';
import {
  own,
  release,
  serviceGroup,
  uniqueName,
  type OwnedResources,
  type ServiceDefinition,
  type SpawnedService,
} from '@lab/shared/testkit';

export const LAB_DIR = join(import.meta.dirname, '..', '..');
export const ENTRIES = {
  command: join(LAB_DIR, 'command-service', 'src', 'start.ts'),
  query: join(LAB_DIR, 'query-service', 'src', 'start.ts'),
  relay: join(LAB_DIR, 'relay', 'src', 'start.ts'),
  projector: join(LAB_DIR, 'projector', 'src', 'start.ts'),
} as const;
export const DEFAULT_PORTS = { command: 3101, query: 3102, relay: 3103, projector: 3104 } as const;
/** The same operations as one process on one database: commands and queries on port 3101. */
export const MONOLITH_ENTRY = join(LAB_DIR, 'monolith', 'src', 'start.ts');
export const COMMAND_MIGRATIONS = join(
  LAB_DIR,
  'command-service',
  'src',
  'data-access',
  'migrations',
);

export type ServiceName = keyof typeof ENTRIES;

/**
 * How the lab's operations are deployed: `split`, the four services of CQRS (command, relay,
 * projector, query over PostgreSQL, Kafka and Redis); `monolith`, one process whose queries
 * are SQL joins over the write model. Both answer the same routes.
 */
export type Wiring = 'split' | 'monolith';
export const WIRINGS: readonly Wiring[] = ['split', 'monolith'];

/** Where one copy of the lab keeps its data: a database, a Redis key prefix, a topic prefix. */
export interface LabNamespace {
  databaseUrl: string;
  databaseName: string;
  redisUrl: string;
  redisKeyPrefix: string;
  kafkaBrokers: string;
  topicPrefix: string;
}

export function defaultNamespace(env = process.env): LabNamespace {
  return {
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    databaseName: env.DATABASE_NAME ?? 'cqrs_command',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisKeyPrefix: env.REDIS_KEY_PREFIX ?? '',
    kafkaBrokers: env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    topicPrefix: env.KAFKA_TOPIC_PREFIX ?? '',
  };
}

const owned = new WeakMap<LabNamespace, OwnedResources>();

/**
 * A namespace no other test file uses, so test files run in parallel on one infrastructure.
 * The caller owns it: its database, Redis keys and topics (with the projector's consumer group)
 * are dropped by `releaseNamespace`, or by the test kit after the test file ends, pass or fail.
 */
export function isolatedNamespace(
  label: string,
  overrides: Partial<LabNamespace> = {},
): LabNamespace {
  const name = uniqueName(`cqrs_${label}`);
  const ns: LabNamespace = {
    ...defaultNamespace(),
    databaseName: name,
    redisKeyPrefix: `${name}:`,
    topicPrefix: `${name}.`,
    ...overrides,
  };
  owned.set(
    ns,
    own({
      postgres: { url: ns.databaseUrl, databases: [ns.databaseName] },
      redis: { url: ns.redisUrl, keyPrefixes: [ns.redisKeyPrefix] },
      kafka: { brokers: ns.kafkaBrokers, topicPrefixes: [ns.topicPrefix] },
    }),
  );
  return ns;
}

/** Drops what an isolated namespace created: its database, Redis keys, topics and groups. */
export async function releaseNamespace(ns: LabNamespace): Promise<string[]> {
  const resources = owned.get(ns);
  return resources ? release(resources) : [];
}

export function serviceEnv(ns: LabNamespace): Record<string, string> {
  return {
    DATABASE_URL: ns.databaseUrl,
    DATABASE_NAME: ns.databaseName,
    REDIS_URL: ns.redisUrl,
    REDIS_KEY_PREFIX: ns.redisKeyPrefix,
    KAFKA_BROKERS: ns.kafkaBrokers,
    KAFKA_TOPIC_PREFIX: ns.topicPrefix,
  };
}

export interface StackOptions {
  ns: LabNamespace;
  ports?: Partial<Record<ServiceName, number>>;
  /** Extra environment per service (chaos knobs, trace export). */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  echo?: boolean;
  only?: ServiceName[];
  /** The services' LOG_LEVEL; tests leave it at info, the CLI passes the user's choice. */
  logLevel?: string;
  /** `split` unless told: see Wiring. */
  wiring?: Wiring;
}

export interface Stack {
  ns: LabNamespace;
  wiring: Wiring;
  services: Partial<Record<ServiceName, SpawnedService>>;
  url: (name: ServiceName) => string;
  start: (name: ServiceName, extraEnv?: Record<string, string>) => Promise<SpawnedService>;
  /** SIGKILL, as a crash or an OOM kill would. */
  kill: (name: ServiceName) => Promise<void>;
  stop: () => Promise<void>;
}

/**
 * The projector's working set is one fetch and a few Lua calls, yet V8 sizes its heap for a
 * much bigger program: 2 MB semi-spaces for the young generation and a 64 MB old generation keep
 * a 100k-event catch-up near 140 MB RSS instead of ~370 MB. With 1 MB semi-spaces the RSS was
 * no lower, but the scavenger ran twice as often: 10-25% more CPU per event. docker-compose.yml
 * and the projector's start script pass the same flags.
 */
export const NODE_OPTIONS: Partial<Record<ServiceName, string>> = {
  projector: '--max-semi-space-size=2 --max-old-space-size=64',
};

const running = new Set<Stack>();

/**
 * Stops every stack this process started. Test files call it in afterAll, so services started
 * by a beforeAll that failed half-way are stopped too instead of outliving the test run.
 */
export async function stopAllStacks(): Promise<void> {
  await Promise.allSettled([...running].map((stack) => stack.stop()));
}

const START_ORDER: ServiceName[] = ['command', 'relay', 'projector', 'query'];

/** Starts the lab's services as real processes; the command service first, as it migrates the schema. */
export async function startStack(options: StackOptions): Promise<Stack> {
  if (options.wiring === 'monolith') return startMonolith(options);
  const env = {
    ...serviceEnv(options.ns),
    ...(options.logLevel && { LOG_LEVEL: options.logLevel }),
  };
  const group = serviceGroup<ServiceName>({
    services: Object.fromEntries(
      START_ORDER.map((name) => [
        name,
        {
          entry: ENTRIES[name],
          port: options.ports?.[name] ?? 0,
          env: { ...env, ...options.env?.[name] },
          ...(NODE_OPTIONS[name] && { nodeOptions: NODE_OPTIONS[name] }),
          order: name === 'command' ? 0 : 1,
        },
      ]),
    ) as Record<ServiceName, ServiceDefinition>,
    // Generous: on a busy 2-core machine a Node service with telemetry can take a while to boot.
    timeoutMs: 120_000,
    ...(options.echo && { echo: true }),
  });
  const stack: Stack = {
    ns: options.ns,
    wiring: 'split',
    services: group.services,
    url: group.url,
    start: (name, extraEnv = {}) => group.start(name, { env: extraEnv }),
    kill: group.kill,
    stop: async () => {
      running.delete(stack);
      await group.cleanup();
    },
  };
  running.add(stack);
  try {
    await group.startAll(options.only ?? START_ORDER);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}

/**
 * The monolith wiring behind the same Stack: `command` and `query` name its one process (so a
 * test written against the split wiring's two URLs runs unchanged); it has no relay and no
 * projector to name.
 */
async function startMonolith(options: StackOptions): Promise<Stack> {
  const group = serviceGroup<'monolith'>({
    services: {
      monolith: {
        entry: MONOLITH_ENTRY,
        port: options.ports?.command ?? 0,
        env: {
          DATABASE_URL: options.ns.databaseUrl,
          DATABASE_NAME: options.ns.databaseName,
          ...(options.logLevel && { LOG_LEVEL: options.logLevel }),
          ...options.env?.command,
        },
      },
    },
    timeoutMs: 120_000,
    ...(options.echo && { echo: true }),
  });
  const modules = (name: ServiceName) => {
    if (name !== 'command' && name !== 'query')
      throw new Error(`The monolith wiring has no ${name}: it needs none.`);
    return 'monolith' as const;
  };
  const services: Stack['services'] = {};
  const started = async (extraEnv: Record<string, string> = {}) => {
    const service = await group.start('monolith', { env: extraEnv });
    services.command = service;
    services.query = service;
    return service;
  };
  const stack: Stack = {
    ns: options.ns,
    wiring: 'monolith',
    services,
    url: (name) => group.url(modules(name)),
    start: (name, extraEnv) => {
      modules(name);
      return started(extraEnv);
    },
    kill: (name) => group.kill(modules(name)),
    stop: async () => {
      running.delete(stack);
      await group.cleanup();
    },
  };
  running.add(stack);
  try {
    await started();
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}
