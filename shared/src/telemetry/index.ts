import { appendFileSync } from 'node:fs';
import { SpanKind, trace, type Attributes } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  InMemorySpanExporter,
  NoopSpanProcessor,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { zipkinEndpoint } from './zipkin.ts';

export { DEFAULT_ZIPKIN_ENDPOINT, zipkinEndpoint, zipkinReachable } from './zipkin.ts';

/**
 * Where finished spans go:
 * - `otlp`   to OTEL_EXPORTER_OTLP_ENDPOINT (Jaeger in docker compose);
 * - `zipkin` to ZIPKIN_ENDPOINT (default: the Zipkin `pnpm infra:local up` runs on 127.0.0.1:9411);
 * - `memory` kept in this process, for tests that inspect their own spans;
 * - `file:<path>` one JSON line per span, for tests that inspect spans of a spawned service;
 * - `none`   spans still get ids (logs and problem documents carry them) but go nowhere.
 * LAB_TRACE_EXPORT chooses; without it, OTLP when an endpoint is set, otherwise none.
 */
export type TraceExport = 'otlp' | 'zipkin' | 'memory' | 'none' | `file:${string}`;

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

export const memoryExporter = new InMemorySpanExporter();
let sdk: NodeSDK | undefined;

export function toSpanRecord(span: ReadableSpan): SpanRecord {
  const { traceId, spanId } = span.spanContext();
  const [startS, startNs] = span.startTime;
  const [durS, durNs] = span.duration;
  return {
    service: String(span.resource.attributes['service.name']),
    name: span.name,
    kind: SpanKind[span.kind],
    traceId,
    spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    attributes: span.attributes,
    startMs: startS * 1e3 + startNs / 1e6,
    durationMs: durS * 1e3 + durNs / 1e6,
  };
}

class JsonLinesSpanExporter implements SpanExporter {
  private readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const lines = spans.map((span) => JSON.stringify(toSpanRecord(span))).join('\n');
    appendFileSync(this.path, `${lines}\n`);
    done({ code: ExportResultCode.SUCCESS });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function spanProcessorFor(mode: TraceExport): SpanProcessor {
  if (mode === 'memory') return new SimpleSpanProcessor({ exporter: memoryExporter });
  if (mode.startsWith('file:'))
    return new SimpleSpanProcessor({ exporter: new JsonLinesSpanExporter(mode.slice(5)) });
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
  if (chosen === 'otlp' || chosen === 'zipkin' || chosen === 'memory' || chosen === 'none')
    return chosen;
  if (chosen?.startsWith('file:')) return chosen as TraceExport;
  return env.OTEL_EXPORTER_OTLP_ENDPOINT ? 'otlp' : 'none';
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
  mode: TraceExport = traceExportFromEnv(),
): void {
  if (sdk) return;
  sdk = new NodeSDK({
    serviceName,
    // Host and process detectors resolve asynchronously and hold back every export until
    // they do; the service name is the one attribute the lab's traces need.
    autoDetectResources: false,
    spanProcessors: [spanProcessorFor(mode)],
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
      // One span per middleware (body parser, metrics, problem handler...) would outnumber the
      // spans that show the pattern; the router and route-handler spans keep http.route.
      new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE] }),
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
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
