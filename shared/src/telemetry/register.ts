/**
 * Loaded with `node --import @lab/shared/telemetry/register src/start.ts`, before the service's
 * own modules. Registering the import-in-the-middle hook first is what lets the
 * instrumentations patch Express, pg and ioredis when they are loaded from ES modules.
 */
import { register } from 'node:module';
import { loadConfig } from '../config.ts';
import {
  serviceNameFromEntryPoint,
  startTelemetry,
  telemetrySettings,
  traceExportFromEnv,
} from './index.ts';

const packageName = serviceNameFromEntryPoint();
const settings = loadConfig(packageName, telemetrySettings);
const exportTo = traceExportFromEnv();
// With spans going nowhere only the HTTP instrumentations run (see startTelemetry), and they
// patch Node's http through require() and undici through diagnostics channels: the hook, and
// the loader thread it keeps (~20 MB of RSS in every service), would serve nothing.
if (exportTo !== 'none')
  // OpenTelemetry's ESM support is built on this loader-thread hook; the synchronous
  // module.registerHooks() that replaces it is not supported by the instrumentations yet.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

await startTelemetry(settings.OTEL_SERVICE_NAME ?? packageName, exportTo);
