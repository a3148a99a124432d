import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { auditSaga } from '../src/audit.ts';
import { createStock, tripRequest, waitForStatus, type Stock } from '../src/saga-client.ts';
import { startSagaLab, tolerantBudgets, uniqueDatabases, type SagaLab } from '../src/saga-lab.ts';

let lab: SagaLab;
let stock: Stock;
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
    value: fc.jsonValue({ maxDepth: 2 }),
  })
  .map(({ field, value }) => ({
    ...tripRequest({ flight: '', hotel: '', car: '' }),
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
          await expectNoServerError(await send(`${lab.urls.orchestrator}/trips`, body, headers));
        },
      ),
      { numRuns: 150 },
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
    for (const name of ['flights', 'hotels', 'cars', 'payments'] as const)
      await send(`${lab.urls[name]}/_chaos`, JSON.stringify({ mode: 'off' }));
    const res = await send(`${lab.urls.orchestrator}/trips`, JSON.stringify(tripRequest(stock)));
    const { tripId } = (await res.json()) as { tripId: string };
    expect((await waitForStatus(lab.urls.orchestrator, tripId)).status).toBe('COMPLETED');
    expect(await auditSaga(process.env.DATABASE_URL!, lab.databases)).toEqual([]);
  });
});
