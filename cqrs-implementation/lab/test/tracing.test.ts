import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpanRecord } from '@lab/shared/telemetry';
import { waitFor } from './wait.ts';
import { commandClient, queryClient } from '../src/client.ts';
import {
  isolatedNamespace,
  startStack,
  type ServiceName,
  type Stack,
  stopAllStacks,
} from '../src/services.ts';
import { openStores, type Stores } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cqrs-traces-'));
const spanFile = (service: ServiceName) => join(dir, `${service}.jsonl`);
const spansOf = (service: ServiceName): SpanRecord[] =>
  existsSync(spanFile(service))
    ? readFileSync(spanFile(service), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as SpanRecord)
    : [];

let stack: Stack;
let stores: Stores;

beforeAll(async () => {
  const ns = isolatedNamespace('trace');
  const exportTo = (service: ServiceName) => ({ LAB_TRACE_EXPORT: `file:${spanFile(service)}` });
  stack = await startStack({
    ns,
    env: {
      command: exportTo('command'),
      relay: exportTo('relay'),
      projector: exportTo('projector'),
    },
  });
  stores = openStores(ns);
});
afterAll(async () => {
  await stopAllStacks();
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('tracing', () => {
  it("When an order is placed, then one trace id runs from the HTTP command through the relay's publish to the projector's Redis write", async () => {
    const commands = commandClient(stack.url('command'));
    const product = await commands.createProduct({
      sku: 'traced',
      name: 'Traced',
      priceCents: 10,
      stock: 5,
    });
    const traceId = randomBytes(16).toString('hex');

    const res = await fetch(`${stack.url('command')}/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
      },
      body: JSON.stringify({
        customerId: 'tracer',
        lines: [{ productId: product.body.id, quantity: 1 }],
      }),
    });
    const order = (await res.json()) as { id: string; consistencyToken: string };
    await queryClient(stack.url('query'), 10_000).order(order.id, order.consistencyToken);

    const inTrace = (service: ServiceName) => spansOf(service).filter((s) => s.traceId === traceId);
    // A span is written when it ends, and a parent ends after its children: the projector's
    // Redis write is in the file before the CONSUMER span around it, and the relay's PRODUCER
    // span ends at the broker's ack, which may come after the projector has the event.
    const { redisWrite, command, relay, projector } = await waitFor(
      'the projector to write Redis in the same trace, and the spans around that write to end',
      () => {
        const projector = inTrace('projector');
        const redisWrite = projector.find(
          (s) =>
            s.attributes['db.system'] === 'redis' || s.attributes['db.system.name'] === 'redis',
        );
        const relay = inTrace('relay');
        const ended =
          projector.some((s) => s.kind === 'CONSUMER') && relay.some((s) => s.kind === 'PRODUCER');
        return redisWrite && ended
          ? { redisWrite, command: inTrace('command'), relay, projector }
          : undefined;
      },
    );
    expect(command.some((s) => s.kind === 'SERVER' && s.name.includes('POST'))).toBe(true);
    expect(
      command.some((s) =>
        [s.attributes['db.statement'], s.attributes['db.query.text']].some(
          (sql) => typeof sql === 'string' && sql.includes('INSERT INTO outbox'),
        ),
      ),
    ).toBe(true);
    expect(relay.some((s) => s.kind === 'PRODUCER')).toBe(true);
    const consume = projector.find((s) => s.kind === 'CONSUMER');
    expect(consume).toBeDefined();
    expect(redisWrite.parentSpanId).toBe(consume?.spanId);
  });
});
