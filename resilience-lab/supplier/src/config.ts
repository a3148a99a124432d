import { z } from 'zod';
import { env, loadConfig } from '@lab/shared/config';

export const configSchema = z.object({
  PORT: env.port(3302),
  HOST: env.host(),
  LOG_LEVEL: env.logLevel(),
  /** Chaos controls (POST/GET /_chaos) exist only when this is on: never in a real deployment. */
  LAB_CHAOS: env.flag(),
  /** A hung call is held until the caller gives up, but never longer than this. */
  HANG_MAX_MS: env.positiveInt(120_000),
  /** How many recent calls GET /_chaos/calls can replay (experiments join them with their load). */
  CALL_LOG_SIZE: env.positiveInt(50_000),
});

export type SupplierConfig = z.infer<typeof configSchema>;

export const loadSupplierConfig = () => loadConfig('supplier', configSchema);
