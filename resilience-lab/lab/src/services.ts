import { fileURLToPath } from 'node:url';
import { serviceGroup, type SpawnedService } from '@lab/shared/testkit';

export const supplierEntry = fileURLToPath(new URL('../../supplier/src/start.ts', import.meta.url));
export const gatewayEntry = fileURLToPath(new URL('../../gateway/src/start.ts', import.meta.url));
/** The gateway with the supplier's catalog module called in-process: one process, no hop. */
export const monolithEntry = fileURLToPath(new URL('../../monolith/src/start.ts', import.meta.url));

/** Generous (two of these fit in a 60 s hook): on a contended machine a service boots slowly. */
export const STARTUP_TIMEOUT_MS = 28_000;

export interface StartOptions {
  gatewayEnv?: Record<string, string>;
  supplierEnv?: Record<string, string>;
  gatewayPort?: number;
  supplierPort?: number;
  echo?: boolean;
  /** The services' LOG_LEVEL; tests leave it at info, the CLI passes the user's choice. */
  logLevel?: string;
}

export interface RunningLab {
  supplier: SpawnedService;
  gateway: SpawnedService;
  /** SIGKILL the gateway and start a new one on its port: a crash and its restart. */
  restartGateway: () => Promise<SpawnedService>;
  stop: () => Promise<void>;
}

/** The supplier (with chaos controls) and a gateway pointed at it, each its own process. */
export async function startLab(options: StartOptions = {}): Promise<RunningLab> {
  const common = options.logLevel ? { LOG_LEVEL: options.logLevel } : {};
  const group = serviceGroup({
    services: {
      supplier: {
        entry: supplierEntry,
        port: options.supplierPort ?? 0,
        env: { ...common, LAB_CHAOS: '1', ...options.supplierEnv },
        order: 0,
      },
      // SUPPLIER_URL is only known once the supplier listens; it is passed at start.
      gateway: {
        entry: gatewayEntry,
        port: options.gatewayPort ?? 0,
        env: { ...common, ...options.gatewayEnv },
        order: 1,
      },
    },
    timeoutMs: STARTUP_TIMEOUT_MS,
    ...(options.echo && { echo: true }),
  });
  try {
    const supplier = await group.start('supplier');
    const gatewayStart = { env: { SUPPLIER_URL: supplier.url, ...options.gatewayEnv } };
    const gateway = await group.start('gateway', gatewayStart);
    const lab: RunningLab = {
      supplier,
      gateway,
      restartGateway: async () => {
        await group.kill('gateway');
        lab.gateway = await group.start('gateway', { ...gatewayStart, port: lab.gateway.port });
        return lab.gateway;
      },
      stop: group.cleanup,
    };
    return lab;
  } catch (error) {
    await group.cleanup();
    throw error;
  }
}

export interface RunningMonolith {
  gateway: SpawnedService;
  stop: () => Promise<void>;
}

/**
 * The in-process wiring: the gateway's routes and protections around the supplier's module,
 * in one process with chaos on (only the faults a function call can suffer, see monolith/).
 */
export async function startMonolith(
  options: Pick<StartOptions, 'gatewayEnv' | 'gatewayPort' | 'echo' | 'logLevel'> = {},
): Promise<RunningMonolith> {
  const group = serviceGroup({
    services: {
      monolith: {
        entry: monolithEntry,
        port: options.gatewayPort ?? 0,
        env: {
          ...(options.logLevel && { LOG_LEVEL: options.logLevel }),
          LAB_CHAOS: '1',
          ...options.gatewayEnv,
        },
      },
    },
    timeoutMs: STARTUP_TIMEOUT_MS,
    ...(options.echo && { echo: true }),
  });
  try {
    return { gateway: await group.start('monolith'), stop: group.cleanup };
  } catch (error) {
    await group.cleanup();
    throw error;
  }
}
