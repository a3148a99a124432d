import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { trace, type Attributes } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { z } from 'zod';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NoopSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
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

let sdk: NodeSDK | undefined;

function spanProcessorFor(mode: TraceExport): SpanProcessor {
  if (mode === 'otlp') return new BatchSpanProcessor({ exporter: new OTLPTraceExporter() });
  if (mode === 'zipkin')
    return new BatchSpanProcessor({
      exporter: new ZipkinExporter({ url: zipkinEndpoint() }),
      // Batched so a busy service sends one request per interval, not one per span; a second
      // rather than the default five, because a learner opens the trace right after acting.
      scheduledDelayMillis: 1000,
    });
  return new NoopSpanProcessor();
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
      // No package.json at this level; keep walking up.
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown-service';
    dir = parent;
  }
}

/**
 * Starts the OpenTelemetry SDK once per process. Auto-instrumentation of HTTP, fetch, Express,
 * pg and ioredis only works when this runs before those modules load, which is why services
 * start with `node --import @lab/shared/telemetry/register` (see register.ts). Kafka spans are
 * made explicitly in kafka.ts, because the trace context of a relayed event comes from the
 * outbox row, not from whatever happens to be active in the relay.
 */
export function startTelemetry(
  serviceName: string,
  exportTo: TraceExport | SpanProcessor = traceExportFromEnv(),
): void {
  if (sdk) return;
  // A processor is how the test kit sends spans to a file or to memory.
  const mode = typeof exportTo === 'string' ? exportTo : undefined;
  sdk = new NodeSDK({
    serviceName,
    // Host and process detectors resolve asynchronously and hold back every export until
    // they do; the service name is the one attribute the lab's traces need.
    autoDetectResources: false,
    spanProcessors: [mode ? spanProcessorFor(mode) : (exportTo as SpanProcessor)],
    // With nowhere to send spans, recording them is pure cost: an unsampled span still has a
    // trace id and span id (logs, problem documents and traceparent headers carry them), but
    // instrumentation skips its attributes and timings. Every other mode records every trace,
    // because a lab's traces are read one by one.
    sampler: mode === 'none' ? new AlwaysOffSampler() : new AlwaysOnSampler(),
    // Metrics are Prometheus text at /metrics and logs are JSON on stdout; without these
    // the SDK would start OTLP metric and log exporters from its environment defaults.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        // Probes and scrapes every few seconds would bury the spans a learner wants to see.
        ignoreIncomingRequestHook: (req) => /^\/(healthz|readyz|metrics)\b/.test(req.url ?? ''),
      }),
      new UndiciInstrumentation(),
      // With spans going nowhere only the HTTP instrumentations earn their cost: they carry the
      // trace id in and out of the process. The route, query and command spans below would be
      // dropped at birth, yet cost a tenth to a third of a cached read's CPU to make.
      ...(mode === 'none'
        ? []
        : [
            // One span per middleware (body parser, metrics, problem handler...) would
            // outnumber the spans that show the pattern; router and handler spans keep http.route.
            new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE] }),
            new PgInstrumentation({ requireParentSpan: true }),
            new IORedisInstrumentation({ requireParentSpan: true }),
          ]),
    ],
  });
  sdk.start();
}

/** Flushes spans still buffered; part of graceful shutdown. */
export async function shutdownTelemetry(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  await running?.shutdown();
}

export function currentTraceId(): string | undefined {
  return trace.getActiveSpan()?.spanContext().traceId;
}
