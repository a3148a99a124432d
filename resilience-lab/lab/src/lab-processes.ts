import { fileURLToPath } from 'node:url';
import { spawnService, type SpawnedService } from '@lab/shared/testkit';

export const supplierEntry = fileURLToPath(new URL('../../supplier/src/start.ts', import.meta.url));
export const gatewayEntry = fileURLToPath(new URL('../../gateway/src/start.ts', import.meta.url));

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
    ...(options.echo && { echo: 'supplier' }),
  });
  const gateway = await spawnService({
    entry: gatewayEntry,
    port: options.gatewayPort ?? 0,
    env: { SUPPLIER_URL: supplier.url, ...options.gatewayEnv },
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
