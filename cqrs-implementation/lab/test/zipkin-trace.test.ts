import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './wait.ts';
import { commandClient, queryClient } from '../src/client.ts';
import {
  isolatedNamespace,
  startStack,
  type ServiceName,
  type Stack,
  stopAllStacks,
} from '../src/services.ts';

/** A span as Zipkin's v2 API returns it (names and service names lower-cased by Zipkin). */
interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  kind?: 'CLIENT' | 'SERVER' | 'PRODUCER' | 'CONSUMER';
  name?: string;
  localEndpoint?: { serviceName?: string };
  tags?: Record<string, string>;
}

const zipkin = process.env.ZIPKIN_URL ?? 'http://127.0.0.1:9411';
const traced: ServiceName[] = ['command', 'relay', 'projector'];

let stack: Stack;
// Zipkin lists traces by service name; names unique to this run keep parallel runs apart.
let serviceNames: Record<ServiceName, string>;

async function zipkinGet<T>(path: string): Promise<T> {
  const res = await fetch(`${zipkin}${path}`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

beforeAll(async () => {
  // Owned by the test kit: its database, keys and topics are dropped when this file ends.
  const ns = isolatedNamespace('zipkin');
  serviceNames = {
    command: `${ns.databaseName}-command`,
    relay: `${ns.databaseName}-relay`,
    projector: `${ns.databaseName}-projector`,
    query: `${ns.databaseName}-query`,
  };
  const exportTo = (service: ServiceName) => ({
    LAB_TRACE_EXPORT: 'zipkin',
    ZIPKIN_ENDPOINT: `${zipkin}/api/v2/spans`,
    OTEL_SERVICE_NAME: serviceNames[service],
  });
  stack = await startStack({
    ns,
    env: Object.fromEntries(traced.map((service) => [service, exportTo(service)])),
  });
});
afterAll(async () => {
  await stopAllStacks();
});

describe('tracing into Zipkin', () => {
  it("When an order is placed, then Zipkin's API holds one trace linking the command, the relay's publish and the projector's Redis write", async () => {
    const commands = commandClient(stack.url('command'));
    const product = await commands.createProduct({
      sku: 'zipkin',
      name: 'Zipkin',
      priceCents: 10,
      stock: 5,
    });
    const order = await commands.placeOrder({
      customerId: 'zipkin-tracer',
      lines: [{ productId: product.body.id, quantity: 1 }],
    });
    expect(order.status).toBe(201);
    await queryClient(stack.url('query'), 10_000).order(order.body.id, order.body.consistencyToken);

    // Found the way a learner finds it in the UI: the command service's traces, the one whose
    // server span is POST /orders (creating the product above is a trace of its own).
    const isPlaceOrder = (span: ZipkinSpan) =>
      span.kind === 'SERVER' && span.tags?.['http.route'] === '/orders';
    const orderTraces = await waitFor("the order's trace to reach Zipkin", async () => {
      const traces = await zipkinGet<ZipkinSpan[][]>(
        `/api/v2/traces?serviceName=${serviceNames.command}&lookback=3600000&limit=100`,
      );
      const found = traces.filter((spans) => spans.some(isPlaceOrder));
      return found.length > 0 && found;
    });
    expect(orderTraces).toHaveLength(1);
    const traceId = orderTraces[0]?.[0]?.traceId ?? '';

    const of = (service: ServiceName, spans: ZipkinSpan[]) =>
      spans.filter((s) => s.localEndpoint?.serviceName === serviceNames[service]);
    const isRedis = (span: ZipkinSpan) =>
      span.tags?.['db.system'] === 'redis' || span.tags?.['db.system.name'] === 'redis';
    // Each service flushes its own batch, so the trace fills in over a second or two; it is
    // complete once every event the relay published has been consumed in it, the projector's
    // Redis writes are in and no span points at a missing parent.
    const spans = await waitFor('the whole trace in Zipkin', async () => {
      const trace = await zipkinGet<ZipkinSpan[]>(`/api/v2/trace/${traceId}`);
      const ids = new Set(trace.map((s) => s.id));
      const orphans = trace.filter((s) => s.parentId !== undefined && !ids.has(s.parentId));
      const produced = of('relay', trace).filter((s) => s.kind === 'PRODUCER');
      const unconsumed = produced.filter(
        (p) => !of('projector', trace).some((c) => c.kind === 'CONSUMER' && c.parentId === p.id),
      );
      const missing = [
        produced.length === 0 && 'a relay PRODUCER span',
        unconsumed.length > 0 && `a projector CONSUMER span for ${unconsumed.length} publish(es)`,
        !of('projector', trace).some(isRedis) && "the projector's Redis write",
        orphans.length > 0 && `the parents of ${orphans.map((s) => s.name).join(', ')}`,
      ].filter(Boolean);
      if (missing.length > 0)
        throw new Error(`trace ${traceId} has ${trace.length} spans, lacks ${missing.join('; ')}`);
      return trace;
    });

    const byId = new Map(spans.map((s) => [s.id, s]));
    const roots = spans.filter((s) => s.parentId === undefined);
    expect(roots).toHaveLength(1);
    expect(roots[0] && isPlaceOrder(roots[0])).toBe(true);
    expect(of('command', roots)).toHaveLength(1);
    const command = of('command', spans);
    expect(
      command.some((s) =>
        [s.tags?.['db.statement'], s.tags?.['db.query.text']].some((sql) =>
          sql?.includes('INSERT INTO outbox'),
        ),
      ),
    ).toBe(true);
    const kindOfParent = (span: ZipkinSpan) => {
      const parent = span.parentId === undefined ? undefined : byId.get(span.parentId);
      return parent && `${parent.localEndpoint?.serviceName ?? '?'} ${parent.kind ?? 'LOCAL'}`;
    };
    // The outbox hop: the relay publishes each event under the context stored with its outbox
    // row, which the command service wrote inside the request.
    const produced = of('relay', spans).filter((s) => s.kind === 'PRODUCER');
    for (const produce of produced) expect(command.map((s) => s.id)).toContain(produce.parentId);
    // The Kafka hop: the projector consumes each event under the context from its headers, and
    // writes the read model in Redis inside that consume.
    const consumed = of('projector', spans).filter((s) => s.kind === 'CONSUMER');
    expect(consumed.map(kindOfParent)).toEqual(
      consumed.map(() => `${serviceNames.relay} PRODUCER`),
    );
    const redisWrites = of('projector', spans).filter(isRedis);
    expect(redisWrites.length).toBeGreaterThan(0);
    expect(redisWrites.map(kindOfParent)).toEqual(
      redisWrites.map(() => `${serviceNames.projector} CONSUMER`),
    );
  });
});
