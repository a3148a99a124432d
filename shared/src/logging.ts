import { trace } from '@opentelemetry/api';
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * JSON logs that carry the active span's ids, so a log line found in one service leads to the
 * whole trace in Jaeger, and a trace leads back to every line it wrote. The level is a setting
 * like any other: each service reads LOG_LEVEL through its zod schema (env.logLevel()), so a
 * misspelt level stops it with the config's one-line message, not a stack trace from pino.
 */
export function createLogger(service: string, level: string): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
  });
}
