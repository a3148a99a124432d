/**
 * One harness for every lab: a lab describes its services (entry, environment, port, node
 * options, start order) and the resources they work in, and gets each service started,
 * stopped, killed and restarted as a real process, plus a cleanup that removes what the run
 * created even when a test fails half-way.
 */
import { own, release, type OwnedResources } from './resources.ts';
import { spawnService, type SpawnedService } from './spawn.ts';

export interface ServiceDefinition {
  /** Absolute path of the service's `src/start.ts`. */
  entry: string;
  env?: Record<string, string | undefined>;
  /** Port to bind; 0 or absent lets the OS pick a free one. */
  port?: number;
  /** Extra node flags (heap sizes), appended to NODE_OPTIONS. */
  nodeOptions?: string;
  /** Services start in ascending order; those with the same order start side by side. */
  order?: number;
  /** False starts it without the telemetry register (see spawnService). */
  telemetry?: boolean;
}

export interface ServiceGroupOptions<Name extends string> {
  services: Record<Name, ServiceDefinition>;
  /** What this group creates and must drop when it is cleaned up. */
  owns?: OwnedResources;
  /** Start-up budget per service. Generous: a 2-core machine under load boots Node slowly. */
  timeoutMs?: number;
  /** Print each service's log lines behind `[name]`, as `pnpm lab <lab> up` does. */
  echo?: boolean;
}

export interface ServiceGroup<Name extends string> {
  readonly services: Partial<Record<Name, SpawnedService>>;
  url: (name: Name) => string;
  /**
   * Starts one service. Its handle replaces an earlier run's in `services`, but the earlier
   * process, if still running, is stopped by `stopAll` and `cleanup` all the same.
   */
  start: (
    name: Name,
    extra?: { env?: Record<string, string | undefined>; port?: number },
  ) => Promise<SpawnedService>;
  /** Starts the given services (all by default) in their start order. */
  startAll: (names?: Name[]) => Promise<void>;
  /** SIGTERM and wait: the graceful path. */
  stop: (name: Name) => Promise<void>;
  /** SIGKILL, as a crash or an OOM kill would. */
  kill: (name: Name) => Promise<void>;
  /** Graceful stop, then start again with the same (or extra) settings. */
  restart: (
    name: Name,
    extra?: { env?: Record<string, string | undefined>; port?: number },
  ) => Promise<SpawnedService>;
  stopAll: () => Promise<void>;
  /** Stops every service, then drops what the group owns. Safe to call more than once. */
  cleanup: () => Promise<void>;
}

const groups = new Set<ServiceGroup<string>>();

export function serviceGroup<Name extends string>(
  options: ServiceGroupOptions<Name>,
): ServiceGroup<Name> {
  const services: Partial<Record<Name, SpawnedService>> = {};
  // Every process this group spawned, not only the latest of each name: a test that starts a
  // second orchestrator beside the first (a rival lease holder) leaves both to be stopped.
  const spawned = new Set<SpawnedService>();
  const owned = options.owns && own(options.owns);
  const start: ServiceGroup<Name>['start'] = async (name, extra = {}) => {
    const definition = options.services[name];
    const nodeOptions = [process.env.NODE_OPTIONS, definition.nodeOptions]
      .filter(Boolean)
      .join(' ');
    const service = await spawnService({
      entry: definition.entry,
      port: extra.port ?? definition.port ?? 0,
      env: {
        ...definition.env,
        ...(definition.nodeOptions && { NODE_OPTIONS: nodeOptions }),
        ...extra.env,
      },
      timeoutMs: options.timeoutMs ?? 120_000,
      ...(options.echo && { echo: name }),
      ...(definition.telemetry === false && { telemetry: false }),
    });
    services[name] = service;
    spawned.add(service);
    return service;
  };
  const stopAll = async () => {
    await Promise.all([...spawned].map(async (service) => service.stop()));
    spawned.clear();
  };
  const group: ServiceGroup<Name> = {
    services,
    url: (name) => {
      const service = services[name];
      if (!service) throw new Error(`${name} was never started`);
      return service.url;
    },
    start,
    startAll: async (names) => {
      const wanted = names ?? (Object.keys(options.services) as Name[]);
      const orders = [...new Set(wanted.map((n) => options.services[n].order ?? 0))].sort(
        (a, b) => a - b,
      );
      for (const order of orders) {
        const batch = wanted.filter((n) => (options.services[n].order ?? 0) === order);
        // allSettled: a sibling that fails must not leave the others starting unobserved.
        const results = await Promise.allSettled(batch.map((n) => start(n)));
        const failed = results.find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
      }
    },
    stop: async (name) => {
      await services[name]?.stop();
    },
    kill: async (name) => {
      await services[name]?.kill();
    },
    restart: async (name, extra) => {
      await services[name]?.stop();
      return start(name, extra);
    },
    stopAll,
    cleanup: async () => {
      groups.delete(group as ServiceGroup<string>);
      await stopAll();
      if (owned) {
        const problems = await release(owned);
        for (const problem of problems) process.stderr.write(`cleanup: ${problem}\n`);
      }
    },
  };
  groups.add(group as ServiceGroup<string>);
  return group;
}

/** Cleans up every group this process has not cleaned up yet. */
export async function cleanupAllGroups(): Promise<void> {
  await Promise.allSettled([...groups].map((group) => group.cleanup()));
}
