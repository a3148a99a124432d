import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bookTrip,
  createInventory,
  createStock,
  tripRequest,
  waitForStatus,
} from '../src/client.ts';
import { startSagaLab, tolerantBudgets, uniqueDatabases, type SagaLab } from '../src/services.ts';

interface ListedTrip {
  tripId: string;
  status: string;
  traceId: string | null;
  timeline: { name: string; kind: string; state: string; attempts: number }[];
}

let lab: SagaLab;

beforeAll(async () => {
  lab = await startSagaLab({
    databases: uniqueDatabases('list'),
    orchestratorEnv: tolerantBudgets,
  });
});
afterAll(async () => {
  await lab.stop();
});

const list = async (query: string) => {
  const res = await fetch(`${lab.urls.orchestrator}/trips${query}`);
  return { status: res.status, body: (await res.json()) as { trips: ListedTrip[] } };
};

describe('GET /trips and GET /saga-definition', () => {
  it('When trips finished, then GET /trips lists them newest first with their timelines and traces, and filters by status', async () => {
    const completed = await bookTrip(
      lab.urls.orchestrator,
      tripRequest(await createStock(lab.urls, 1)),
    );
    await waitForStatus(lab.urls.orchestrator, completed);
    // A hotel with no rooms: its reservation is refused and the flight hold is compensated.
    const stock = await createStock(lab.urls, 1);
    const soldOut = { ...stock, hotel: await createInventory(lab.urls.hotels, 0) };
    const compensated = await bookTrip(lab.urls.orchestrator, tripRequest(soldOut));
    await waitForStatus(lab.urls.orchestrator, compensated);

    const all = await list('?limit=2');

    expect(all.status).toBe(200);
    expect(all.body.trips.map((t) => [t.tripId, t.status])).toEqual([
      [compensated, 'COMPENSATED'],
      [completed, 'COMPLETED'],
    ]);
    expect(all.body.trips[0]?.traceId).toMatch(/^[\da-f]{32}$/);
    expect(all.body.trips[0]?.timeline.map((s) => `${s.kind}:${s.name}:${s.state}`)).toEqual([
      'action:reserve-flight:SUCCEEDED',
      'action:reserve-hotel:FAILED',
      'compensation:cancel-flight:SUCCEEDED',
    ]);
    const onlyCompleted = await list('?status=COMPLETED&limit=200');
    expect(onlyCompleted.body.trips.map((t) => t.tripId)).toEqual([completed]);
  });

  it('When the limit or status is not acceptable, then 400 problem+json names the field', async () => {
    for (const [query, field] of [
      ['?limit=0', 'query.limit'],
      ['?limit=201', 'query.limit'],
      ['?limit=ten', 'query.limit'],
      ['?status=LOST', 'query.status'],
    ] as const) {
      const res = await fetch(`${lab.urls.orchestrator}/trips${query}`);
      expect(res.status, query).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const problem = (await res.json()) as { errors: { path: string }[] };
      expect(problem.errors.map((e) => e.path)).toContain(field);
    }
  });

  it('When asked for the saga definition, then it lists every step in order with the pivot and each compensation', async () => {
    const res = await fetch(`${lab.urls.orchestrator}/saga-definition`);

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      name: 'book-trip',
      steps: [
        { name: 'reserve-flight', kind: 'compensatable', compensation: 'cancel-flight' },
        { name: 'reserve-hotel', kind: 'compensatable', compensation: 'cancel-hotel' },
        { name: 'reserve-car', kind: 'compensatable', compensation: 'cancel-car' },
        { name: 'charge-payment', kind: 'pivot', compensation: 'refund-payment' },
        { name: 'confirm-flight', kind: 'retriable', compensation: null },
        { name: 'confirm-hotel', kind: 'retriable', compensation: null },
        { name: 'confirm-car', kind: 'retriable', compensation: null },
      ],
    });
  });
});
