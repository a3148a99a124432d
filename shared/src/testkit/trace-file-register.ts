/**
 * @lab/shared/telemetry/register with spans written to the file LAB_TRACE_EXPORT=file:<path>
 * names: the test kit starts a service with this instead when that export is asked for, so
 * tests (and a learner running `pnpm lab <lab> up`) can read a spawned service's spans while
 * service images carry no file export.
 */
import { register } from 'node:module';
import { serviceNameFromEntryPoint, startTelemetry } from '../telemetry/index.ts';
import { spanFileProcessor, traceFileFromEnv } from './trace-export.ts';

// As in telemetry/register.ts: the hook must be registered before the service's modules load.
// eslint-disable-next-line @typescript-eslint/no-deprecated
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

const path = traceFileFromEnv();
const name = process.env.OTEL_SERVICE_NAME ?? serviceNameFromEntryPoint();
await startTelemetry(name, path === undefined ? undefined : spanFileProcessor(path));
