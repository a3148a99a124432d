import { appendFileSync } from 'node:fs';
import { SpanKind } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import type { SpanRecord } from '../telemetry/index.ts';

/**
 * Span exports for tests, which read spans back instead of sending them to a collector. Pass
 * one to startTelemetry (in-process), or start a service with LAB_TRACE_EXPORT=file:<path>
 * through the test kit (spawnService, serviceGroup, `pnpm lab <lab> up`), which loads
 * trace-file-register.ts in place of @lab/shared/telemetry/register.
 */

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

/** Appends each finished span to `path` as one JSON line (a SpanRecord). */
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

/** Every span the moment it ends (not batched), so a test can read it right after acting. */
export const spanFileProcessor = (path: string) =>
  new SimpleSpanProcessor({ exporter: new JsonLinesSpanExporter(path) });

/** Spans kept in this process: `startTelemetry(name, memory.processor)`, then `memory.spans()`. */
export function memorySpans() {
  const exporter = new InMemorySpanExporter();
  return {
    processor: new SimpleSpanProcessor({ exporter }),
    spans: () => exporter.getFinishedSpans(),
  };
}

/** The path of LAB_TRACE_EXPORT=file:<path>, or undefined for any other export. */
export const traceFileFromEnv = (env: NodeJS.ProcessEnv = process.env) =>
  env.LAB_TRACE_EXPORT?.startsWith('file:') ? env.LAB_TRACE_EXPORT.slice(5) : undefined;
