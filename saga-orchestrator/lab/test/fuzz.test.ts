import { connect } from 'node:net';
import fc from 'fast-check';
import pg from 'pg';
import { databaseUrlFor } from '@lab/shared/pg';
import { waitFor } from '@lab/shared/testkit';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { auditSaga } from '../src/audit.ts';
import {
  chaos,
  clearChaos,
  createStock,
  getTrip,
  post,
  TERMINAL,
  tripRequest,
  waitForStatus,
  type Stock,
} from '../src/client.ts';
import {
  startSagaLab,
  tolerantBudgets,
  uniqueDatabases,
  type SagaLab,
  type ServiceName,
} from '../src/services.ts';

let lab: SagaLab;
let stock: Stock;
/** The trips POST /trips accepted during the fuzzing. */
const accepted = new Set<string>();
beforeAll(async () => {
  lab = await startSagaLab({
    databases: uniqueDatabases('fuzz'),
    orchestratorEnv: tolerantBudgets,
  });
  stock = await createStock(lab.urls, 1000);
});
afterAll(async () => {
  await lab.stop();
});

async function expectNoServerError(res: Response) {
  expect(res.status).toBeLessThan(500);
  if (res.status >= 400) {
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as { code?: string; status?: number };
    expect(problem.status).toBe(res.status);
    expect(problem.code).toMatch(/^[a-z0-9-]+$/);
  } else {
    await res.arrayBuffer();
  }
}

const send = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

// Mostly-valid trips with one field bent, plus arbitrary JSON: the interesting inputs sit
// close to the valid ones.
const bentTrip = fc
  .record({
    field: fc.constantFrom('customerId', 'flight', 'hotel', 'car', 'payment', 'extra'),
    value: fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      // Text PostgreSQL cannot store: NUL and lone surrogates.
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.constantFrom('\u0000', 'a\ud800', '\udfff'),
    ),
  })
  // Mapped while the test generates inputs, once beforeAll has created `stock`.
  .map(({ field, value }) => ({
    ...tripRequest(stock),
    [field]: value,
  }));

describe('property-based fuzzing of the public endpoints', () => {
  test('When POST /trips gets arbitrary bodies and headers, then it never answers 5xx and every rejection is problem+json', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v)),
          bentTrip.map((v) => JSON.stringify(v)),
          fc.string(),
        ),
        fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
        async (body, key) => {
          const headers: Record<string, string> = {};
          if (key !== undefined && /^[\x21-\x7e]*$/.test(key)) headers['idempotency-key'] = key;
          const res = await send(`${lab.urls.orchestrator}/trips`, body, headers);
          if (res.ok) accepted.add(((await res.json()) as { tripId: string }).tripId);
          else await expectNoServerError(res);
        },
      ),
      // One plain valid trip whatever the seed: the check of the accepted trips below needs one.
      { numRuns: 150, examples: [[JSON.stringify(tripRequest(stock)), undefined]] },
    );
  });

  test('When trips and participants get arbitrary ids and bodies, then nothing answers 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 60 }),
        fc.jsonValue({ maxDepth: 2 }),
        fc.constantFrom('hotels', 'payments', 'flights'),
        async (id, body, participant) => {
          const path = encodeURIComponent(id);
          await expectNoServerError(await fetch(`${lab.urls.orchestrator}/trips/${path}`));
          await expectNoServerError(
            await send(`${lab.urls.orchestrator}/trips/${path}/retry-compensation`, '{}'),
          );
          const target = lab.urls[participant as 'hotels'];
          const route = participant === 'payments' ? '/charges' : '/reservations';
          await expectNoServerError(
            await send(`${target}${route}`, JSON.stringify(body), {
              'idempotency-key': `fuzz-${id}`,
            }),
          );
          await expectNoServerError(
            await send(
              `${target}${route}/${path}/${participant === 'payments' ? 'refund' : 'cancel'}`,
              '{}',
            ),
          );
          await expectNoServerError(await send(`${target}/_chaos`, JSON.stringify(body)));
          await expectNoServerError(await fetch(`${lab.urls.hotels}/inventory/${path}`));
        },
      ),
      { numRuns: 100 },
    );
  });

  test('When valid trips are accepted during the fuzzing, then each still ends terminal and verify finds nothing half-written', async () => {
    expect(accepted.size, 'the fuzzing got no trip accepted').toBeGreaterThan(0);
    for (const name of ['flights', 'hotels', 'cars', 'payments'] as const)
      await clearChaos(lab.urls[name]);
    await waitFor(
      `the ${accepted.size} trips accepted during the fuzzing to end ${TERMINAL.join('|')}`,
      async () => {
        const running: string[] = [];
        for (const tripId of accepted) {
          const { status } = await getTrip(lab.urls.orchestrator, tripId);
          if (!TERMINAL.includes(status)) running.push(`${tripId} ${status}`);
        }
        // Thrown rather than returned: a timeout then names the trips still running.
        if (running.length > 0) throw new Error(`still running: ${running.join(', ')}`);
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(await auditSaga(process.env.DATABASE_URL!, lab.databases)).toEqual([]);
  });
});

// What PostgreSQL's UTF-8 text cannot hold: NUL, and lone UTF-16 surrogates (which the driver
// would silently write as U+FFFD). JSON carries both as escapes.
const UNSTORABLE = ['a\u0000b', 'a\ud800b', '\udc00'];
// Text it can hold that is easy to mangle: astral, combining, right-to-left, joiners, padding.
const AWKWARD = ' 𝄞 Cafe\u0301 שלום 👩‍👩‍👧 \u202e\t';

async function fieldsOf(res: Response) {
  const text = await res.text();
  expect(res.status, text).toBe(400);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  return ((JSON.parse(text) as { errors?: { path: string }[] }).errors ?? []).map((e) => e.path);
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

/** Row counts of every table a request could write, in all five databases. */
async function rowCounts(): Promise<Record<string, number>> {
  const tables: Record<ServiceName, string[]> = {
    orchestrator: ['sagas', 'saga_steps'],
    flights: ['reservations', 'idempotency_keys'],
    hotels: ['reservations', 'idempotency_keys'],
    cars: ['reservations', 'idempotency_keys'],
    payments: ['cards', 'charges', 'idempotency_keys'],
  };
  const counts: Record<string, number> = {};
  for (const [service, names] of Object.entries(tables)) {
    const client = new pg.Client({
      connectionString: databaseUrlFor(
        process.env.DATABASE_URL!,
        lab.databases[service as ServiceName],
      ),
    });
    await client.connect();
    try {
      for (const table of names) {
        const { rows } = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${table}`,
        );
        counts[`${service}.${table}`] = rows[0]!.n;
      }
    } finally {
      await client.end();
    }
  }
  return counts;
}

describe('bad input under a planned fault', () => {
  test('When a participant has a fault planned for its next call, then a malformed call still gets its 400 naming the field, and the fault waits for a call it would serve', async () => {
    const { hotels, payments } = lab.urls;
    for (const name of ['flights', 'hotels', 'cars', 'payments'] as const)
      await clearChaos(lab.urls[name]);
    await chaos(hotels, { target: 'compensation', faults: { error: 1 }, next: 1 });
    await chaos(payments, { target: 'action', faults: { error: 1 }, status: 503, next: 1 });

    const key = { 'idempotency-key': 'bad-under-chaos' };
    expect(await fieldsOf(await send(`${hotels}/reservations/a%00b/cancel`, '{}', key))).toEqual([
      'params.id',
    ]);
    expect(await fieldsOf(await send(`${hotels}/reservations/x/cancel`, '{}'))).toEqual([
      'headers.idempotency-key',
    ]);
    expect(
      await fieldsOf(await send(`${payments}/charges`, JSON.stringify({ amountCents: -5 }), key)),
    ).toEqual(['body.chargeId', 'body.cardToken', 'body.amountCents']);

    // The planned faults are still there, and the first well-formed call gets each.
    const served = await send(`${hotels}/reservations/never-held/cancel`, '{}', key);
    expect(served.status).toBe(500);
    expect(await served.json()).toMatchObject({ code: 'chaos-error' });
    const charge = { chargeId: 'chaos-charge', cardToken: 'card', amountCents: 100 };
    const refused = await send(`${payments}/charges`, JSON.stringify(charge), key);
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ code: 'chaos-error' });
  });
});

describe('routes whose path says everything', () => {
  test('When confirm, cancel, refund, an operator action or a read that takes no query (a trip, reservation, inventory or charge by id among them) is sent a body or a query, then 400 naming it, and nothing is written', async () => {
    for (const name of ['flights', 'hotels', 'cars', 'payments'] as const)
      await clearChaos(lab.urls[name]);
    const before = await rowCounts();
    const { orchestrator, hotels, payments } = lab.urls;
    const key = { 'idempotency-key': 'path-says-everything' };
    const extra = JSON.stringify({ amountCents: -5 });
    for (const url of [
      `${hotels}/reservations/never-held/confirm`,
      `${hotels}/reservations/never-held/cancel`,
      `${payments}/charges/never-charged/refund`,
    ]) {
      expect(await fieldsOf(await send(url, extra, key))).toEqual(['body']);
      expect(await fieldsOf(await send(`${url}?force=1`, '{}', key))).toEqual(['query']);
    }
    const trip = `${orchestrator}/trips/00000000-0000-4000-8000-000000000000`;
    for (const action of ['retry-compensation', 'compensate']) {
      expect(await fieldsOf(await send(`${trip}/${action}`, extra))).toEqual(['body']);
      expect(await fieldsOf(await send(`${trip}/${action}?force=1`, '{}'))).toEqual(['query']);
    }
    for (const url of [
      `${orchestrator}/saga-definition`,
      `${hotels}/_chaos`,
      // The reads by id: an id says which, and there is nothing to choose about how.
      trip,
      `${hotels}/reservations/never-held`,
      `${hotels}/inventory/00000000-0000-4000-8000-000000000000`,
      `${payments}/charges/never-charged`,
    ])
      expect(await fieldsOf(await fetch(`${url}?step=1`))).toEqual(['query']);
    // No tombstone, no voided charge and no idempotency key was written for a refused call.
    expect(await rowCounts()).toEqual(before);
  });
});

describe('text PostgreSQL cannot hold', () => {
  test('When a trip, reservation or charge field, path id or Idempotency-Key holds a NUL or a lone surrogate, then 400 naming it, never 5xx, and nothing is written', async () => {
    for (const name of ['flights', 'hotels', 'cars', 'payments'] as const)
      await clearChaos(lab.urls[name]);
    const before = await rowCounts();
    const trip = tripRequest(stock);
    const key = { 'idempotency-key': 'hostile-text' };
    const { orchestrator, hotels, payments } = lab.urls;
    for (const bad of UNSTORABLE) {
      expect(
        await fieldsOf(
          await send(`${orchestrator}/trips`, JSON.stringify({ ...trip, customerId: bad })),
        ),
      ).toEqual(['body.customerId']);
      expect(
        await fieldsOf(
          await send(
            `${orchestrator}/trips`,
            JSON.stringify({ ...trip, payment: { ...trip.payment, cardToken: bad } }),
          ),
        ),
      ).toEqual(['body.payment.cardToken']);
      expect(
        await fieldsOf(
          await send(
            `${hotels}/reservations`,
            JSON.stringify({ reservationId: bad, inventoryId: stock.hotel }),
            key,
          ),
        ),
      ).toEqual(['body.reservationId']);
      const charge = { chargeId: 'hostile', cardToken: 'card-ok', amountCents: 1 };
      expect(
        await fieldsOf(
          await send(`${payments}/charges`, JSON.stringify({ ...charge, chargeId: bad }), key),
        ),
      ).toEqual(['body.chargeId']);
      expect(
        await fieldsOf(
          await send(`${payments}/charges`, JSON.stringify({ ...charge, cardToken: bad }), key),
        ),
      ).toEqual(['body.cardToken']);
      expect(
        await fieldsOf(
          await send(`${payments}/cards`, JSON.stringify({ cardToken: bad, limitCents: 1 })),
        ),
      ).toEqual(['body.cardToken']);
    }
    for (const path of ['/reservations/a%00b/confirm', '/reservations/a%00b/cancel'])
      expect(await fieldsOf(await send(`${hotels}${path}`, '{}', key))).toEqual(['params.id']);
    expect(await fieldsOf(await send(`${payments}/charges/a%00b/refund`, '{}', key))).toEqual([
      'params.id',
    ]);
    expect(await fieldsOf(await fetch(`${hotels}/reservations/a%00b`))).toEqual(['params.id']);
    expect(await fieldsOf(await fetch(`${payments}/charges/a%00b`))).toEqual(['params.id']);
    // A lone surrogate has no UTF-8 form, so in a URL it can only be invalid percent-escapes:
    // the router refuses to decode them.
    const undecodable = await send(`${hotels}/reservations/a%ED%A0%80/cancel`, '{}', key);
    expect(undecodable.status).toBe(400);
    expect(undecodable.headers.get('content-type')).toContain('application/problem+json');

    // Header bytes arrive as Latin-1: a key that is not visible ASCII would be stored as other
    // text, so it is refused by name; a NUL never gets past Node's HTTP parser.
    const latin1 = { 'idempotency-key': 'caf\u00e9' };
    expect(
      await fieldsOf(await send(`${orchestrator}/trips`, JSON.stringify(trip), latin1)),
    ).toEqual(['headers.idempotency-key']);
    expect(await fieldsOf(await send(`${hotels}/reservations/x/cancel`, '{}', latin1))).toEqual([
      'headers.idempotency-key',
    ]);
    for (const [url, path] of [
      [orchestrator, '/trips'],
      [hotels, '/reservations/x/cancel'],
    ] as const)
      expect(
        await rawStatus(
          url,
          `POST ${path} HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\u0000b\r\nContent-Length: 0\r\n\r\n`,
        ),
      ).toMatch(/^HTTP\/1\.1 400 /);

    expect(await rowCounts()).toEqual(before);
  });

  test('When the saga log refuses a write, then the answer is an opaque 500, never a 503 that invites retries, and the database message stays inside', async () => {
    const admin = new pg.Client({
      connectionString: databaseUrlFor(process.env.DATABASE_URL!, lab.databases.orchestrator),
    });
    await admin.connect();
    // A rule only this test's trips break: the log is reachable but refuses the insert.
    await admin.query(
      `ALTER TABLE sagas ADD CONSTRAINT fuzz_refused CHECK (request->>'customerId' <> 'refused')`,
    );
    try {
      const res = await send(
        `${lab.urls.orchestrator}/trips`,
        JSON.stringify(tripRequest(stock, { customerId: 'refused' })),
      );
      const body = await res.text();
      expect(res.status, body).toBe(500);
      expect(res.headers.get('retry-after')).toBeNull();
      expect(body).not.toMatch(/fuzz_refused|violates|constraint|sagas/);
    } finally {
      await admin.query('ALTER TABLE sagas DROP CONSTRAINT fuzz_refused');
      await admin.end();
    }
  });

  test('When a trip carries astral, combining, right-to-left and padded text, then the saga log and the payment keep it byte for byte', async () => {
    await post(`${lab.urls.payments}/cards`, { cardToken: AWKWARD, limitCents: 1_000_000_000 });
    const res = await send(
      `${lab.urls.orchestrator}/trips`,
      JSON.stringify(tripRequest(stock, { customerId: AWKWARD, cardToken: AWKWARD })),
    );
    expect(res.status).toBe(202);
    const { tripId } = (await res.json()) as { tripId: string };
    expect((await waitForStatus(lab.urls.orchestrator, tripId)).status).toBe('COMPLETED');
    const stored = (await getTrip(lab.urls.orchestrator, tripId)) as unknown as {
      request: { customerId: string; payment: { cardToken: string } };
    };
    expect(Buffer.from(stored.request.customerId)).toEqual(Buffer.from(AWKWARD));
    expect(Buffer.from(stored.request.payment.cardToken)).toEqual(Buffer.from(AWKWARD));
    const charge = (await (await fetch(`${lab.urls.payments}/charges/${tripId}`)).json()) as {
      cardToken: string;
      status: string;
    };
    expect(charge.status).toBe('CAPTURED');
    expect(Buffer.from(charge.cardToken)).toEqual(Buffer.from(AWKWARD));
  });
});
