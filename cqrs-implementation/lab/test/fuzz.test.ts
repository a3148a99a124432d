import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditWriteModel, verifyLab } from '../src/audit/verify.ts';
import { commandClient } from '../src/client.ts';
import { isolatedNamespace, startStack, type Stack, stopAllStacks } from '../src/stack.ts';
import { openStores, type Stores } from './helpers.ts';

let stack: Stack;
let stores: Stores;
const productIds: string[] = [];
const orderIds: string[] = [];

beforeAll(async () => {
  const ns = isolatedNamespace('fuzz');
  stack = await startStack({ ns });
  stores = openStores(ns);
  const commands = commandClient(stack.url('command'));
  for (let i = 0; i < 3; i++) {
    const res = await commands.createProduct({
      sku: `fuzz-${i}`,
      name: `Fuzz ${i}`,
      priceCents: 100,
      stock: 50,
    });
    productIds.push(res.body.id);
  }
  const order = await commands.placeOrder({
    customerId: 'fuzzer',
    lines: [{ productId: productIds[0]!, quantity: 1 }],
  });
  orderIds.push(order.body.id);
});
afterAll(async () => {
  await stopAllStacks();
  await stores.close();
});

// Values a client might send by mistake or malice: right shape, wrong type, out of range, huge.
const junk = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1e12, 2 ** 31, Number.MAX_SAFE_INTEGER, null, true, '', ' ', '1', [], {}),
  fc.string({ maxLength: 30 }),
  fc.anything({ maxDepth: 2 }),
);
// Mostly well-formed values, so the fuzzer reaches the domain and the database, not only the validator.
const valid = <T>(arbitrary: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary, weight: 6 }, { arbitrary: junk, weight: 1 });
const quantity = valid(fc.integer({ min: 1, max: 3 }));
const id = () =>
  fc.oneof(
    // Ids that exist (filled in by beforeAll, after the arbitraries are built).
    {
      arbitrary: fc
        .nat()
        .map((i) => [...productIds, ...orderIds][i % (productIds.length + orderIds.length)] ?? ''),
      weight: 6,
    },
    { arbitrary: fc.uuid(), weight: 1 },
    { arbitrary: fc.string({ maxLength: 40 }), weight: 1 },
    { arbitrary: fc.constantFrom('..', '%', 'top', ' '), weight: 1 },
  );
const productBody = fc.record(
  {
    sku: valid(fc.string({ minLength: 1, maxLength: 20 })),
    name: valid(fc.string({ maxLength: 300 })),
    priceCents: valid(fc.integer({ min: 0, max: 10_000 })),
    stock: valid(fc.integer({ min: 0, max: 100 })),
  },
  { requiredKeys: ['sku', 'name', 'priceCents', 'stock'] },
);
const orderBody = fc.record(
  {
    customerId: valid(fc.oneof(fc.constantFrom('fuzzer', 'other'), fc.string({ maxLength: 80 }))),
    lines: valid(fc.array(fc.record({ productId: id(), quantity }), { maxLength: 4 })),
  },
  { requiredKeys: ['customerId', 'lines'] },
);
const body = (shape: fc.Arbitrary<unknown>) =>
  fc.oneof(
    {
      arbitrary: shape.map((value) => ({
        raw: (JSON.stringify(value) as string | undefined) ?? '',
        type: 'application/json',
      })),
      weight: 6,
    },
    {
      arbitrary: fc.string({ maxLength: 50 }).map((raw) => ({ raw, type: 'application/json' })),
      weight: 1,
    },
    {
      arbitrary: fc.string({ maxLength: 20 }).map((raw) => ({ raw, type: 'text/plain' })),
      weight: 1,
    },
    { arbitrary: fc.constant({ raw: '', type: 'application/json' }), weight: 1 },
  );
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,60}$/);

const commandRequest = fc.oneof(
  body(productBody).map((b) => ({ path: '/products', ...b, headers: {} })),
  fc.tuple(id(), body(fc.record({ quantity }, { requiredKeys: [] }))).map(([i, b]) => ({
    path: `/products/${encodeURIComponent(i)}/restock`,
    ...b,
    headers: {},
  })),
  fc.tuple(body(orderBody), fc.option(headerValue, { nil: undefined })).map(([b, key]) => ({
    path: '/orders',
    ...b,
    headers: key === undefined ? {} : { 'idempotency-key': key },
  })),
  fc
    .tuple(
      id(),
      body(
        fc.record(
          { expectedVersion: fc.oneof(fc.integer({ min: 0, max: 3 }), junk) },
          { requiredKeys: [] },
        ),
      ),
    )
    .map(([i, b]) => ({ path: `/orders/${encodeURIComponent(i)}/cancel`, ...b, headers: {} })),
);

function validToken() {
  return fc
    .tuple(
      fc.constantFrom('product', 'order', 'customer'),
      id(),
      fc.oneof(fc.integer({ min: 0, max: 2 }), junk),
    )
    .map((entry) => Buffer.from(JSON.stringify({ v: 1, a: [entry] })).toString('base64url'));
}
const queryHeaders = fc.oneof(
  fc.constant({}),
  fc.record({
    'x-consistency-token': fc.oneof(headerValue, validToken()),
    'x-consistency-timeout-ms': fc.constantFrom('0', '20', '-1', 'abc', '99999'),
  }),
);
const queryRequest = fc.tuple(
  fc.oneof(
    id().map((i) => `/orders/${encodeURIComponent(i)}`),
    id().map((i) => `/products/${encodeURIComponent(i)}`),
    fc
      .tuple(
        fc.oneof(fc.constantFrom('fuzzer', 'other'), fc.string({ maxLength: 70 })),
        fc.string({ maxLength: 10 }),
        fc.string({ maxLength: 30 }),
      )
      .map(
        ([c, limit, cursor]) =>
          `/customers/${encodeURIComponent(c)}/orders?limit=${encodeURIComponent(limit)}&cursor=${encodeURIComponent(cursor)}`,
      ),
    fc.string({ maxLength: 8 }).map((limit) => `/products/top?limit=${encodeURIComponent(limit)}`),
  ),
  queryHeaders,
);

const statuses: number[] = [];

async function expectNoServerErrorAndProblemJson(res: Response) {
  const text = await res.text();
  statuses.push(res.status);
  // A well-formed token naming a version this read model has not reached is exactly the case
  // the contract answers with 503 + Retry-After: the service cannot tell a forged token from a
  // projector that is behind. Any other 5xx is a bug.
  if (res.status === 503 && text.includes('"read-model-behind"'))
    expect(res.headers.get('retry-after')).toBe('1');
  else expect(res.status, text).toBeLessThan(500);
  if (res.status >= 400) {
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect((JSON.parse(text) as { code?: string }).code).toMatch(/^[a-z-]+$/);
  }
}

describe('fuzzing every endpoint', () => {
  it('When the command endpoints get arbitrary bodies, params and headers, then no 5xx, every rejection is problem+json, and nothing is half-written', async () => {
    await fc.assert(
      fc.asyncProperty(commandRequest, async (request) => {
        const res = await fetch(`${stack.url('command')}${request.path}`, {
          method: 'POST',
          headers: { 'content-type': request.type, ...request.headers },
          body: request.raw,
        });
        await expectNoServerErrorAndProblemJson(res);
      }),
      { numRuns: 200 },
    );

    // The fuzzer must reach the domain, not only the validator: some commands succeed.
    expect(statuses.some((s) => s < 300)).toBe(true);
    expect(await auditWriteModel(stores.pool)).toEqual([]);
    expect(await verifyLab(stores.pool, stores.redis, stack.ns.redisKeyPrefix, 30_000)).toEqual([]);
  });

  it('When the query endpoints get arbitrary params, query strings and consistency headers, then no 5xx and every rejection is problem+json', async () => {
    await fc.assert(
      fc.asyncProperty(queryRequest, async ([path, headers]) => {
        const res = await fetch(`${stack.url('query')}${path}`, { headers });
        await expectNoServerErrorAndProblemJson(res);
      }),
      { numRuns: 200 },
    );
  });
});
