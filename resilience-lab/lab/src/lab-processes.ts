import { fileURLToPath } from 'node:url';
import { spawnService, type SpawnedService } from '@lab/shared/testkit';

export const supplierEntry = fileURLToPath(new URL('../../supplier/src/start.ts', import.meta.url));
export const gatewayEntry = fileURLToPath(new URL('../../gateway/src/start.ts', import.meta.url));

/** Generous (two of these fit in a 60 s hook): on a contended machine a service boots slowly. */
export const STARTUP_TIMEOUT_MS = 28_000;

export interface StartOptions {
  gatewayEnv?: Record<string, string>;
  supplierEnv?: Record<string, string>;
  gatewayPort?: number;
  supplierPort?: number;
  echo?: boolean;
}

export interface RunningLab {
  supplier: SpawnedService;
  gateway: SpawnedService;
  stop: () => Promise<void>;
}

/** The supplier (with chaos controls) and a gateway pointed at it, each its own process. */
export async function startLab(options: StartOptions = {}): Promise<RunningLab> {
  const supplier = await spawnService({
    entry: supplierEntry,
    port: options.supplierPort ?? 0,
    env: { LAB_CHAOS: '1', ...options.supplierEnv },
    timeoutMs: STARTUP_TIMEOUT_MS,
    ...(options.echo && { echo: 'supplier' }),
  });
  const gateway = await spawnService({
    entry: gatewayEntry,
    port: options.gatewayPort ?? 0,
    env: { SUPPLIER_URL: supplier.url, ...options.gatewayEnv },
    timeoutMs: STARTUP_TIMEOUT_MS,
    ...(options.echo && { echo: 'gateway' }),
  }).catch(async (error: unknown) => {
    await supplier.kill();
    throw error;
  });
  return {
    supplier,
    gateway,
    stop: async () => {
      await Promise.all([gateway.stop(), supplier.stop()]);
    },
  };
}
