/**
 * Loaded with `node --import @lab/shared/telemetry/register src/start.ts`, before the service's
 * own modules. Registering the import-in-the-middle hook first is what lets the
 * instrumentations patch Express, pg and ioredis when they are loaded from ES modules.
 */
import { register } from 'node:module';
import { serviceNameFromEntryPoint, startTelemetry } from './index.ts';

// OpenTelemetry's ESM support is built on this loader-thread hook; the synchronous
// module.registerHooks() that replaces it is not supported by the instrumentations yet.
// eslint-disable-next-line @typescript-eslint/no-deprecated
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

startTelemetry(process.env.OTEL_SERVICE_NAME ?? serviceNameFromEntryPoint());
