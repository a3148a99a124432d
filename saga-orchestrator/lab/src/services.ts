/**
 * Starts the five saga services as real processes, exactly as `pnpm lab saga up` does, with
 * their own databases. Tests pass unique database names; the CLI uses the default names (saga_orchestrator, saga_flights ...).
 * The service processes are run by the test kit's service group; this file only says which
 * services the saga has, what each needs and who owns which database.
 */
import { join } from 'node:path';
import {
  own,
  release,
  serviceGroup,
  type OwnedResources,
  type ServiceDefinition,
  type SpawnedService,
} from '@lab/shared/testkit';

const labDir = join(import.meta.dirname, '..', '..');
export const entries = {
  orchestrator: join(labDir, 'orchestrator', 'src', 'start.ts'),
  flights: join(labDir, 'flights', 'src', 'start.ts'),
  hotels: join(labDir, 'hotels', 'src', 'start.ts'),
  cars: join(labDir, 'cars', 'src', 'start.ts'),
  payments: join(labDir, 'payments', 'src', 'start.ts'),
};
/** The same business operations as one modular monolith (`pnpm lab saga up --monolith`). */
export const monolithEntry = join(labDir, 'monolith', 'src', 'start.ts');
export type ServiceName = keyof typeof entries;
export const participants = ['flights', 'hotels', 'cars', 'payments'] as const;
export type Participant = (typeof participants)[number];
export const designPorts: Record<ServiceName, number> = {
  orchestrator: 3201,
  flights: 3202,
  hotels: 3203,
  cars: 3204,
  payments: 3205,
};

export type Databases = Record<ServiceName, string>;

/**
 * Step budgets for tests on a shared, loaded machine: a slow answer must not turn into a
 * compensated trip unless the test injects the failure itself.
 */
export const tolerantBudgets = {
  STEP_TIMEOUT_MS: '5000',
  STEP_MAX_ATTEMPTS: '20',
  STEP_DEADLINE_MS: '120000',
  SAGA_DEADLINE_MS: '600000',
};

export function defaultDatabases(): Databases {
  return {
    orchestrator: 'saga_orchestrator',
    flights: 'saga_flights',
    hotels: 'saga_hotels',
    cars: 'saga_cars',
    payments: 'saga_payments',
  };
}

/** The server's maintenance database: where the lab creates, audits and drops its own. */
export const adminDatabaseUrl = (): string =>
  process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ownedDatabases = new WeakMap<Databases, OwnedResources>();

/**
 * Five database names no other test file uses. Whoever asks for them owns them: the lab
 * started on them drops them in `stop()`, and the test kit drops them after the test file
 * ends if nothing else did, pass or fail. The default names are never dropped.
 */
export function uniqueDatabases(prefix: string): Databases {
  const suffix = Math.random().toString(16).slice(2, 10);
  const databases: Databases = {
    orchestrator: `t_${prefix}_orch_${suffix}`,
    flights: `t_${prefix}_flights_${suffix}`,
    hotels: `t_${prefix}_hotels_${suffix}`,
    cars: `t_${prefix}_cars_${suffix}`,
    payments: `t_${prefix}_pay_${suffix}`,
  };
  ownedDatabases.set(
    databases,
    own({ postgres: { url: adminDatabaseUrl(), databases: Object.values(databases) } }),
  );
  return databases;
}

/** Drops the databases `uniqueDatabases` handed out (no-op for any other set). */
export async function dropOwnedDatabases(databases: Databases): Promise<string[]> {
  const owned = ownedDatabases.get(databases);
  return owned ? release(owned) : [];
}

export interface LabOptions {
  databases: Databases;
  /** 'design': the ports in the root README (3201-3205); 'free': any free ones. */
  ports?: 'design' | 'free';
  echo?: boolean;
  /** Extra environment for every service, and for the orchestrator only. */
  env?: Record<string, string>;
  orchestratorEnv?: Record<string, string>;
  /** Participants already running (the exercise suite shares one set): spawn only the orchestrator. */
  participantUrls?: Record<Participant, string>;
  /** false: start the participants only. */
  orchestrator?: boolean;
}

export interface SagaLab {
  urls: Record<ServiceName, string>;
  services: Partial<Record<ServiceName, SpawnedService>>;
  databases: Databases;
  orchestratorEnv: (extra?: Record<string, string>) => Record<string, string>;
  startOrchestrator: (extra?: Record<string, string>, port?: number) => Promise<SpawnedService>;
  /**
   * Starts a participant again (after a kill or a stop) on its old port, where the orchestrator
   * calls it; `extra` adds to its environment (the bench's NODE_OPTIONS=--cpu-prof).
   */
  restartParticipant: (
    name: Participant,
    extra?: Record<string, string>,
  ) => Promise<SpawnedService>;
  /** Stops every service, then drops the databases if they came from `uniqueDatabases`. */
  stop: () => Promise<void>;
}

export async function startSagaLab(options: LabOptions): Promise<SagaLab> {
  const port = (name: ServiceName) => (options.ports === 'design' ? designPorts[name] : 0);
  const common = { LAB_CHAOS: '1', LOG_LEVEL: 'info', ...options.env };
  const definitions = {} as Record<ServiceName, ServiceDefinition>;
  for (const name of participants)
    definitions[name] = {
      entry: entries[name],
      port: port(name),
      env: { ...common, DATABASE_NAME: options.databases[name] },
      order: 0,
    };
  // The orchestrator's environment names the participants' addresses, known once they run.
  definitions.orchestrator = { entry: entries.orchestrator, port: port('orchestrator'), order: 1 };
  const group = serviceGroup<ServiceName>({
    services: definitions,
    timeoutMs: 90_000,
    ...(options.echo && { echo: true }),
  });
  const services = group.services;
  const urls = {} as Record<ServiceName, string>;
  const orchestratorEnv = (extra: Record<string, string> = {}) => ({
    ...common,
    DATABASE_NAME: options.databases.orchestrator,
    FLIGHTS_URL: urls.flights,
    HOTELS_URL: urls.hotels,
    CARS_URL: urls.cars,
    PAYMENTS_URL: urls.payments,
    ORCHESTRATOR_ID: 'orchestrator-1',
    ...options.orchestratorEnv,
    ...extra,
  });
  const lab: SagaLab = {
    urls,
    services,
    databases: options.databases,
    orchestratorEnv,
    startOrchestrator: async (extra, fixedPort) => {
      const service = await group.start('orchestrator', {
        env: orchestratorEnv(extra),
        ...(fixedPort !== undefined && { port: fixedPort }),
      });
      urls.orchestrator = service.url;
      return service;
    },
    restartParticipant: (name, extra) =>
      group.start(name, {
        port: Number(new URL(urls[name]).port),
        ...(extra && { env: extra }),
      }),
    stop: async () => {
      await group.cleanup();
      await dropOwnedDatabases(options.databases);
    },
  };
  try {
    if (!options.participantUrls) await group.startAll([...participants]);
    for (const name of participants)
      urls[name] = options.participantUrls?.[name] ?? services[name]?.url ?? '';
    if (options.orchestrator !== false) await lab.startOrchestrator();
  } catch (error) {
    // A lab that cannot start leaves no process and no database of its own behind.
    await lab.stop();
    throw error;
  }
  return lab;
}

const ownedMonolithDatabases = new Map<string, OwnedResources>();

/**
 * The monolith's one database: a unique name owned like `uniqueDatabases`' five, with the
 * module roles its migration creates (named after the database, see the monolith's
 * 001_module_schemas.sql), which would otherwise outlive it on the server.
 */
export function uniqueMonolithDatabase(prefix: string): string {
  const database = `t_${prefix}_mono_${Math.random().toString(16).slice(2, 10)}`;
  ownedMonolithDatabases.set(
    database,
    own({
      postgres: { url: adminDatabaseUrl(), databases: [database], rolePrefixes: [`${database}_`] },
    }),
  );
  return database;
}

export interface SagaMonolith {
  /** One process serves it all: the trips API at `urls.orchestrator`, each module's admin
   * routes under its name, so `urls.flights` is `<monolith>/flights` and the lab's client
   * (`${urls.flights}/inventory`) reaches either wiring unchanged. */
  urls: Record<ServiceName, string>;
  service: SpawnedService;
  database: string;
  /** SIGKILL, as a crash or an OOM kill would: the whole service goes at once. */
  kill: () => Promise<void>;
  /** Starts the process again on the same database (and port); `urls` stay valid. */
  restart: () => Promise<void>;
  /** Stops the process, then drops the database if it came from `uniqueMonolithDatabase`. */
  stop: () => Promise<void>;
}

/**
 * Starts the modular monolith as a real process, exactly as `pnpm lab saga up --monolith`
 * does: one service on the orchestrator's port (3201 with `ports: 'design'`), one database.
 */
export async function startSagaMonolith(options: {
  database: string;
  ports?: 'design' | 'free';
  echo?: boolean;
  env?: Record<string, string>;
}): Promise<SagaMonolith> {
  const group = serviceGroup<'monolith'>({
    services: {
      monolith: {
        entry: monolithEntry,
        port: options.ports === 'design' ? designPorts.orchestrator : 0,
        env: { LAB_CHAOS: '1', LOG_LEVEL: 'info', DATABASE_NAME: options.database, ...options.env },
      },
    },
    timeoutMs: 90_000,
    ...(options.echo && { echo: true }),
  });
  const stop = async () => {
    await group.cleanup();
    const owned = ownedMonolithDatabases.get(options.database);
    ownedMonolithDatabases.delete(options.database);
    if (owned) await release(owned);
  };
  try {
    const service = await group.start('monolith');
    const urls = { orchestrator: service.url } as Record<ServiceName, string>;
    for (const name of participants) urls[name] = `${service.url}/${name}`;
    const monolith: SagaMonolith = {
      urls,
      service,
      database: options.database,
      kill: () => group.kill('monolith'),
      restart: async () => {
        monolith.service = await group.start('monolith', {
          port: Number(new URL(service.url).port),
        });
      },
      stop,
    };
    return monolith;
  } catch (error) {
    await stop();
    throw error;
  }
}
