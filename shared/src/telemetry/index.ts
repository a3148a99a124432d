import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { context, propagation, trace, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  TracerProvider,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { z } from 'zod';
import { zipkinEndpoint } from './zipkin.ts';

export { DEFAULT_ZIPKIN_ENDPOINT, zipkinEndpoint, zipkinReachable } from './zipkin.ts';

/**
 * Where finished spans go:
 * - `otlp`   to OTEL_EXPORTER_OTLP_ENDPOINT (Jaeger in docker compose);
 * - `zipkin` to ZIPKIN_ENDPOINT (default: the Zipkin `pnpm infra:local up` runs on 127.0.0.1:9411);
 * - `none`   spans still get ids (logs and problem documents carry them) but go nowhere.
 * LAB_TRACE_EXPORT chooses; without it, OTLP when an endpoint is set, otherwise none.
 * `file:<path>` (one JSON line per span) is the test kit's: a service started by the lab or a
 * test gets it from @lab/shared/testkit, so nothing in a service image writes spans to disk.
 */
export type TraceExport = 'otlp' | 'zipkin' | 'none';

/**
 * The tracing settings, read at start like every other setting (register.ts): a misspelt export
 * would otherwise mean no traces, and an endpoint that is not a URL a failure at the first export.
 */
export const telemetrySettings = z.object({
  LAB_TRACE_EXPORT: z
    .string()
    .regex(/^(otlp|zipkin|none|file:.+)$/, 'expected otlp, zipkin or none')
    .optional(),
  ZIPKIN_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
});

/**
 * A finished span as the test kit's `file:` export writes it, one JSON object per line (see
 * toSpanRecord in @lab/shared/testkit).
 */
export interface SpanRecord {
  service: string;
  name: string;
  kind: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  attributes: Attributes;
  startMs: number;
  durationMs: number;
}

/** The started SDK, or the start in progress: a second call waits for the first. */
let sdk: Promise<{ shutdown: () => Promise<void> }> | undefined;

/** Where spans go, for an export that sends them somewhere; loaded only when one is asked for. */
async function spanProcessorFor(mode: 'otlp' | 'zipkin'): Promise<SpanProcessor> {
  if (mode === 'otlp') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return new BatchSpanProcessor({ exporter: new OTLPTraceExporter() });
  }
  const { ZipkinExporter } = await import('@opentelemetry/exporter-zipkin');
  return new BatchSpanProcessor({
    exporter: new ZipkinExporter({ url: zipkinEndpoint() }),
    // Batched so a busy service sends one request per interval, not one per span; a second
    // rather than the default five, because a learner opens the trace right after acting.
    scheduledDelayMillis: 1000,
  });
}

export function traceExportFromEnv(env = process.env): TraceExport {
  const chosen = env.LAB_TRACE_EXPORT;
  if (chosen === 'otlp' || chosen === 'zipkin' || chosen === 'none') return chosen;
  return env.OTEL_EXPORTER_OTLP_ENDPOINT ? 'otlp' : 'none';
}

/** The service's name: its package's name without the scope, found from the entry point up. */
export function serviceNameFromEntryPoint(entry = process.argv[1]): string {
  let dir = dirname(entry ?? process.cwd());
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name) return pkg.name.replace(/^@[^/]+\//, '');
    } catch {
      // No package.json here; keep walking up.
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown-service';
    dir = parent;
  }
}

/** Marks a request that only reads a service's state for a watcher (the lab console's polls). */
export const POLL_HEADER = 'x-lab-poll';

/** The HTTP instrumentations, which every mode runs: they carry the trace id in and out. */
function httpInstrumentations(): Instrumentation[] {
  return [
    new HttpInstrumentation({
      // Probes and scrapes every few seconds would bury the spans a learner wants to see, and so
      // would the lab console's polls of a lab's state (twice a second while a page is open),
      // which it marks with this header (console/src/labs/http.ts).
      ignoreIncomingRequestHook: (req) =>
        /^\/(healthz|readyz|metrics)\b/.test(req.url ?? '') ||
        req.headers[POLL_HEADER] !== undefined,
    }),
    new UndiciInstrumentation(),
  ];
}

/**
 * With nowhere to send spans: the HTTP instrumentations and an SDK tracer provider that samples
 * nothing, registered with the context manager and the W3C propagators the NodeSDK would set
 * up. An unsampled span still has a trace id and span id (logs, problem documents and
 * traceparent headers carry them), but instrumentation skips its attributes and timings.
 * Without the NodeSDK, whose module loads every exporter it could be configured with, a
 * process starts on a little over half the CPU (`node --import .../register.ts -e 0`): most
 * tests and every `pnpm lab up` service without Zipkin run this way.
 */
function startWithoutExport(serviceName: string): () => Promise<void> {
  const disable = registerInstrumentations({ instrumentations: httpInstrumentations() });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(
    new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  );
  const provider = new TracerProvider({
    sampler: new AlwaysOffSampler(),
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
  });
  trace.setGlobalTracerProvider(provider);
  return async () => {
    disable();
    await provider.shutdown();
  };
}

/**
 * Starts the OpenTelemetry SDK once per process. Auto-instrumentation of HTTP, fetch, Express,
 * pg and ioredis only works when this runs before those modules load, which is why services
 * start with `node --import @lab/shared/telemetry/register` (see register.ts). Kafka spans are
 * made explicitly in kafka.ts, because the trace context of a relayed event comes from the
 * outbox row, not from whatever happens to be active in the relay.
 */
export async function startTelemetry(
  serviceName: string,
  exportTo: TraceExport | SpanProcessor = traceExportFromEnv(),
): Promise<void> {
  sdk ??=
    exportTo === 'none'
      ? Promise.resolve({ shutdown: startWithoutExport(serviceName) })
      : startExporting(serviceName, exportTo);
  await sdk;
}

/** Every span recorded and sent to `exportTo`, by the NodeSDK with every instrumentation. */
async function startExporting(
  serviceName: string,
  exportTo: Exclude<TraceExport, 'none'> | SpanProcessor,
): Promise<{ shutdown: () => Promise<void> }> {
  // A processor is how the test kit sends spans to a file or to memory.
  const spanProcessor = typeof exportTo === 'string' ? await spanProcessorFor(exportTo) : exportTo;
  const [{ NodeSDK }, express, { PgInstrumentation }, { IORedisInstrumentation }] =
    await Promise.all([
      import('@opentelemetry/sdk-node'),
      import('@opentelemetry/instrumentation-express'),
      import('@opentelemetry/instrumentation-pg'),
      import('@opentelemetry/instrumentation-ioredis'),
    ]);
  const started = new NodeSDK({
    serviceName,
    // Host and process detectors resolve asynchronously and hold back every export until
    // they do; the service name is the one attribute the lab's traces need.
    autoDetectResources: false,
    spanProcessors: [spanProcessor],
    // A lab's traces are read one by one: every one is recorded.
    sampler: new AlwaysOnSampler(),
    // Metrics are Prometheus text at /metrics and logs are JSON on stdout; without these
    // the SDK would start OTLP metric and log exporters from its environment defaults.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      ...httpInstrumentations(),
      // One span per middleware (body parser, metrics, problem handler...) would outnumber
      // the spans that show the pattern; router and handler spans keep http.route.
      new express.ExpressInstrumentation({
        ignoreLayersType: [express.ExpressLayerType.MIDDLEWARE],
      }),
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  started.start();
  return started;
}

/** Flushes spans still buffered; part of graceful shutdown. */
export async function shutdownTelemetry(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  await (await running)?.shutdown();
}
