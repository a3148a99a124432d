import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditWriteModel, verifyLab } from '../src/audit.ts';
import { commandClient, queryClient } from '../src/client.ts';
import {
  isolatedNamespace,
  startStack,
  type Stack,
  stopAllStacks,
  WIRINGS,
} from '../src/services.ts';
import { openStores, type Stores } from './helpers.ts';

let stack: Stack;
let stores: Stores;
const productIds: string[] = [];
const orderIds: string[] = [];

// Values a client might send by mistake or malice: right shape, wrong type, out of range, huge.
const junk = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1e12, 2 ** 31, Number.MAX_SAFE_INTEGER, null, true, '', ' ', '1', [], {}),
  fc.string({ maxLength: 30 }),
  // Any code point, NUL included, and UTF-16 that is not well-formed: text PostgreSQL refuses.
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('\u0000', 'x\u0000', '\ud800', 'x\udfff', '\udc00\ud800'),
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

// What PostgreSQL's UTF-8 text cannot hold: NUL, and lone UTF-16 surrogates (which the driver
// would silently write as U+FFFD). JSON carries both as escapes.
const UNSTORABLE = { nul: 'a\u0000b', high: 'a\ud800b', low: '\udc00' };
// Text it can hold that is easy to mangle: astral, combining, right-to-left, joiners, padding.
const AWKWARD = ' 𝄞 Cafe\u0301 שלום 👩‍👩‍👧 \u202e\t';

async function problemFields(res: Response) {
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  const problem = (await res.json()) as { errors?: { path: string }[] };
  return (problem.errors ?? []).map((e) => e.path);
}

/** One request with a header no fetch would send; resolves with the status line. */
function rawStatus(url: string, requestHead: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(Number(port), hostname, () => socket.end(requestHead));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
    });
    socket.on('error', reject);
    socket.on('close', () => {
      resolve(answer.split('\r\n')[0] ?? '');
    });
  });
}

async function writeModelCounts() {
  const { rows } = await stores.pool.query<{ n: string }>(
    `SELECT (SELECT count(*) FROM products) || '/' || (SELECT count(*) FROM orders) || '/' ||
            (SELECT count(*) FROM idempotency_keys) || '/' || (SELECT count(*) FROM outbox) AS n`,
  );
  return rows[0]?.n;
}

// One contract, two wirings: the split lab and the modular monolith (see services.ts) must
// refuse and accept the same requests.
describe.each(WIRINGS)('%s wiring', (wiring) => {
  beforeAll(async () => {
    productIds.length = 0;
    orderIds.length = 0;
    statuses.length = 0;
    const ns = isolatedNamespace(`fuzz_${wiring}`);
    stack = await startStack({ ns, wiring });
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
      expect(await auditWriteModel(stores.pool, { outbox: wiring === 'split' })).toEqual([]);
      // The monolith has no read model to drift from the write model.
      if (wiring === 'split')
        expect(await verifyLab(stores.pool, stores.redis, stack.ns.redisKeyPrefix, 30_000)).toEqual(
          [],
        );
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

  describe('unknown keys in a command', () => {
    it('When a command body carries a key the command does not take, at the top or in a line, then 400 naming it and nothing is written', async () => {
      const before = await writeModelCounts();
      const command = stack.url('command');
      const post = (path: string, body: unknown) =>
        fetch(`${command}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const product = { sku: 'strict', name: 'Strict', priceCents: 1, stock: 1 };
      const line = { productId: productIds[0], quantity: 1 };
      for (const [path, body, field, key] of [
        ['/products', { ...product, stok: 5 }, 'body', 'stok'],
        ['/orders', { customerId: 'strict', lines: [line], note: 'x' }, 'body', 'note'],
        [
          '/orders',
          { customerId: 'strict', lines: [{ ...line, quantitiy: 2 }] },
          'body.lines.0',
          'quantitiy',
        ],
        [`/products/${productIds[0]}/restock`, { quantity: 1, reason: 'x' }, 'body', 'reason'],
        [`/orders/${orderIds[0]}/cancel`, { expectedVersion: 1, force: true }, 'body', 'force'],
      ] as const) {
        const res = await post(path, body);
        const problem = (await res.clone().json()) as { errors?: { message: string }[] };
        expect(await problemFields(res), path).toEqual([field]);
        // The field is the object that holds the key; the message names the key itself.
        expect(problem.errors?.[0]?.message, path).toContain(key);
      }
      expect(await writeModelCounts()).toBe(before);
    });
  });

  describe('one spelling of an id', () => {
    it('When orders name the same two products in opposite letter cases at once, then none deadlocks, and the event and the reads carry the lower-case id', async () => {
      const commands = commandClient(stack.url('command'));
      // Ids whose first character is a letter: as sent, `C…` sorts before `c…` but `b…` after
      // `B…`, so an order of (A upper, b) and one of (a, B upper) would lock A-B and B-A.
      const lettered: string[] = [];
      for (let i = 0; lettered.length < 2 && i < 60; i++) {
        const made = await commands.createProduct({
          sku: `case-${wiring}-${i}`,
          name: 'Case',
          priceCents: 1,
          stock: 1000,
        });
        if (/^[a-f]/.test(made.body.id)) lettered.push(made.body.id);
      }
      const [a, b] = lettered as [string, string];
      expect(b).toBeDefined();

      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          commands.placeOrder({
            customerId: 'case',
            lines:
              i % 2 === 0
                ? [
                    { productId: a.toUpperCase(), quantity: 1 },
                    { productId: b, quantity: 1 },
                  ]
                : [
                    { productId: a, quantity: 1 },
                    { productId: b.toUpperCase(), quantity: 1 },
                  ],
          }),
        ),
      );

      expect(answers.map((r) => r.status)).toEqual(answers.map(() => 201));
      const last = answers.at(-1)!;
      const reads = queryClient(stack.url('query'), 10_000);
      const product = await reads.product(a.toUpperCase(), last.body.consistencyToken);
      expect(product.status, JSON.stringify(product.body)).toBe(200);
      expect(product.body).toMatchObject({ id: a });
      const order = await reads.order(last.body.id, last.body.consistencyToken);
      expect((order.body.lines as { productId: string }[]).map((l) => l.productId).sort()).toEqual(
        [a, b].sort(),
      );
    });
  });

  describe('text PostgreSQL cannot hold', () => {
    it('When a text field, path parameter, query parameter or header holds a NUL or a lone surrogate, then 400 naming it and nothing is written', async () => {
      const before = await writeModelCounts();
      const command = stack.url('command');
      const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
        fetch(`${command}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
      const product = { sku: 'hostile', name: 'Hostile', priceCents: 1, stock: 1 };
      const order = { customerId: 'hostile', lines: [{ productId: productIds[0], quantity: 1 }] };
      for (const bad of Object.values(UNSTORABLE)) {
        expect(await problemFields(await post('/products', { ...product, sku: bad }))).toEqual([
          'body.sku',
        ]);
        expect(await problemFields(await post('/products', { ...product, name: bad }))).toEqual([
          'body.name',
        ]);
        expect(await problemFields(await post('/orders', { ...order, customerId: bad }))).toEqual([
          'body.customerId',
        ]);
      }
      // Header bytes arrive as Latin-1: a key that is not visible ASCII would be stored as
      // different text, so it is refused by name; a NUL never gets past Node's HTTP parser.
      expect(
        await problemFields(await post('/orders', order, { 'idempotency-key': 'caf\u00e9' })),
      ).toEqual(['headers.idempotency-key']);
      expect(
        await rawStatus(
          command,
          `POST /orders HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\u0000b\r\nContent-Length: 0\r\n\r\n`,
        ),
      ).toMatch(/^HTTP\/1\.1 400 /);

      const query = stack.url('query');
      expect(await problemFields(await fetch(`${query}/customers/a%00b/orders`))).toEqual([
        'params.id',
      ]);
      expect(await problemFields(await fetch(`${query}/customers/x/orders?cursor=%00`))).toEqual([
        'query.cursor',
      ]);
      // A misspelt or array key is refused, never dropped with the page size it meant.
      for (const path of [
        '/customers/x/orders?limit[]=5',
        '/customers/x/orders?Limit=5',
        '/products/top?limit[]=5',
        '/products/top?cursor=x',
      ])
        expect(await problemFields(await fetch(`${query}${path}`)), path).toEqual(['query']);
      // A lone surrogate has no UTF-8 form, so in a URL it can only be invalid percent-escapes:
      // the router refuses to decode them.
      const undecodable = await fetch(`${query}/customers/a%ED%A0%80/orders`);
      expect(undecodable.status).toBe(400);
      expect(undecodable.headers.get('content-type')).toContain('application/problem+json');

      expect(await writeModelCounts()).toBe(before);
    });

    it('When a cursor or a consistency token is not one this service issued, then 400 naming it', async () => {
      const query = stack.url('query');
      // Well-formed text that is no cursor this service issued, or one of another list.
      const elsewhere = Buffer.from(randomUUID()).toString('base64url');
      for (const cursor of ['abc', elsewhere])
        expect(
          await problemFields(await fetch(`${query}/customers/x/orders?cursor=${cursor}`)),
        ).toEqual(['query.cursor']);
      // A version past what the write model's integer column holds names a write that can
      // never happen: refused at once, not waited on until a 503.
      const impossible = Buffer.from(
        JSON.stringify({ v: 1, a: [['product', randomUUID(), Number.MAX_SAFE_INTEGER]] }),
      ).toString('base64url');
      for (const token of ['garbage', impossible])
        expect(
          await problemFields(
            await fetch(`${query}/products/top`, { headers: { 'x-consistency-token': token } }),
          ),
        ).toEqual(['headers.x-consistency-token']);
    });

    it('When a read by id is sent a query, then 400 naming it rather than an answer that ignored it', async () => {
      for (const path of [`/orders/${randomUUID()}`, `/products/${randomUUID()}`])
        expect(await problemFields(await fetch(`${stack.url('query')}${path}?fields=id`))).toEqual([
          'query',
        ]);
    });

    // Only the split wiring has a relay and a projector.
    if (wiring === 'split')
      it('When the relay or the projector status is asked with a query, then 400 naming it rather than an answer that ignored it', async () => {
        for (const service of ['relay', 'projector'] as const)
          expect(
            await problemFields(await fetch(`${stack.url(service)}/status?partition=1`)),
          ).toEqual(['query']);
      });

    it('When names and SKUs hold astral, combining, right-to-left and padded text, then the write model and the reads give it back byte for byte', async () => {
      const sku = `${AWKWARD}${productIds.length}`;
      const created = await commandClient(stack.url('command')).createProduct({
        sku,
        name: AWKWARD,
        priceCents: 5,
        stock: 5,
      });
      expect(created.status).toBe(201);
      const { rows } = await stores.pool.query<{ sku: string; name: string }>(
        'SELECT sku, name FROM products WHERE id = $1',
        [created.body.id],
      );
      expect(Buffer.from(rows[0]!.sku)).toEqual(Buffer.from(sku));
      expect(Buffer.from(rows[0]!.name)).toEqual(Buffer.from(AWKWARD));

      const placed = await commandClient(stack.url('command')).placeOrder({
        customerId: 'hostile-text',
        lines: [{ productId: created.body.id, quantity: 1 }],
      });
      expect(placed.status).toBe(201);
      // The consistency token makes the query service wait for the projector, by condition.
      const reads = queryClient(stack.url('query'), 10_000);
      const view = await reads.product(created.body.id, created.body.consistencyToken);
      expect(view.status, JSON.stringify(view.body)).toBe(200);
      expect(Buffer.from(view.body.sku as string)).toEqual(Buffer.from(sku));
      expect(Buffer.from(view.body.name as string)).toEqual(Buffer.from(AWKWARD));
      const orderView = await reads.order(placed.body.id, placed.body.consistencyToken);
      const lines = orderView.body.lines as { productName: string }[];
      expect(Buffer.from(lines[0]!.productName)).toEqual(Buffer.from(AWKWARD));
    });
  });
});
