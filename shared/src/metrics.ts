import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One Prometheus registry per process, served at GET /metrics. Default metrics include RSS,
 * heap and event-loop delay, which is what shows a service drowning before it fails.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });

export function counter<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
) {
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}

export function gauge<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  collect?: (this: Gauge<L>) => void | Promise<void>,
) {
  return new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    ...(collect && { collect }),
  });
}

export function histogram<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
) {
  return new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] });
}

export const httpRequestDuration = histogram(
  'http_server_request_duration_seconds',
  'Time to answer an HTTP request, by route template and status',
  ['method', 'route', 'status'],
);
