/**
 * The public contract of the saga lab, whichever way it is wired: the split lab (an
 * orchestrator and four participants, a saga) and the modular monolith (one process, one
 * transaction) run these same tests through the same HTTP client. What differs between them
 * (a timeline of steps, compensations, leases, crash recovery) is tested beside each wiring.
 */
import { describe, expect, test } from 'vitest';
import {
  bookTrip,
  createStock,
  getTrip,
  inventory,
  post,
  tripRequest,
  waitForStatus,
} from '../src/client.ts';
import type { ServiceName } from '../src/services.ts';

export interface Wiring {
  /** `orchestrator`: where `/trips` is served; each participant: its admin routes' base. */
  urls: Record<ServiceName, string>;
  /** Audits this wiring's data: every trip fully booked or not at all. */
  audit: () => Promise<string[]>;
}

const problemOf = async (res: Response) => ({
  status: res.status,
  contentType: res.headers.get('content-type'),
  body: (await res.json()) as { code?: string; detail?: string; errors?: { path: string }[] },
});

export function tripsContract(wiring: () => Wiring): void {
  describe('the public trips API', () => {
    test('When a trip is booked with stock everywhere, then it is COMPLETED, every unit sold and the charge captured', async () => {
      // Arrange
      const { urls, audit } = wiring();
      const stock = await createStock(urls, 5);

      // Act
      const tripId = await bookTrip(urls.orchestrator, tripRequest(stock, { amountCents: 99_900 }));
      const trip = await waitForStatus(urls.orchestrator, tripId);

      // Assert
      expect(trip).toMatchObject({ tripId, status: 'COMPLETED', failureReason: null });
      for (const [url, id] of [
        [urls.flights, stock.flight],
        [urls.hotels, stock.hotel],
        [urls.cars, stock.car],
      ] as const)
        expect(await inventory(url, id)).toMatchObject({ held: 0, confirmed: 1, available: 4 });
      const charge = (await (await fetch(`${urls.payments}/charges/${tripId}`)).json()) as object;
      expect(charge).toMatchObject({ status: 'CAPTURED', amountCents: 99_900 });
      expect(await audit()).toEqual([]);
    });

    test('When the same POST arrives twice at once with one Idempotency-Key, then one trip is booked and both answers name it', async () => {
      const { urls } = wiring();
      const stock = await createStock(urls, 5);
      const key = `trip-twice-${stock.hotel}`;

      const book = () =>
        bookTrip(urls.orchestrator, tripRequest(stock), { 'idempotency-key': key });
      const [a, b] = await Promise.all([book(), book()]);

      expect(b).toBe(a);
      expect(await waitForStatus(urls.orchestrator, a)).toMatchObject({ status: 'COMPLETED' });
      expect(await inventory(urls.hotels, stock.hotel)).toMatchObject({ confirmed: 1 });
    });

    test('When the same Idempotency-Key is sent twice, then one trip is booked and the replay points to it; with another body it is refused', async () => {
      const { urls } = wiring();
      const stock = await createStock(urls, 5);
      const body = tripRequest(stock);
      const key = `trip-once-${stock.hotel}`;

      const first = await bookTrip(urls.orchestrator, body, { 'idempotency-key': key });
      const replay = await fetch(`${urls.orchestrator}/trips`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(body),
      });
      await waitForStatus(urls.orchestrator, first);
      const reused = await fetch(`${urls.orchestrator}/trips`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(tripRequest(stock, { amountCents: 1 })),
      });

      expect(replay.status).toBe(202);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(((await replay.json()) as { tripId: string }).tripId).toBe(first);
      expect(await inventory(urls.hotels, stock.hotel)).toMatchObject({ confirmed: 1 });
      expect(await problemOf(reused)).toMatchObject({
        status: 422,
        contentType: expect.stringContaining('application/problem+json') as unknown,
        body: { code: 'idempotency-key-reused' },
      });
    });

    test('When the last room is sold, then the next trip is COMPENSATED for sold-out and nothing of it stays held or sold', async () => {
      const { urls, audit } = wiring();
      const stock = await createStock(urls, 2);
      const oneRoom = await post<{ id: string }>(`${urls.hotels}/inventory`, { capacity: 1 });
      const request = tripRequest({ ...stock, hotel: oneRoom.id });

      const first = await waitForStatus(
        urls.orchestrator,
        await bookTrip(urls.orchestrator, request),
      );
      const second = await waitForStatus(
        urls.orchestrator,
        await bookTrip(urls.orchestrator, request),
      );

      expect(first.status).toBe('COMPLETED');
      expect(second.status).toBe('COMPENSATED');
      expect(second.failureReason).toContain('sold-out');
      expect(await inventory(urls.hotels, oneRoom.id)).toMatchObject({
        confirmed: 1,
        available: 0,
      });
      expect(await inventory(urls.flights, stock.flight)).toMatchObject({ held: 0, confirmed: 1 });
      expect(await inventory(urls.cars, stock.car)).toMatchObject({ held: 0, confirmed: 1 });
      expect((await fetch(`${urls.payments}/charges/${second.tripId}`)).status).toBe(404);
      expect(await audit()).toEqual([]);
    });

    test('When the card is declined after all three reservations, then the trip is COMPENSATED, every unit is free and nothing is charged', async () => {
      // Arrange
      const { urls, audit } = wiring();
      const stock = await createStock(urls, 1);
      const card = `card-low-${stock.flight}`;
      await post(`${urls.payments}/cards`, { cardToken: card, limitCents: 10_000 });

      // Act
      const tripId = await bookTrip(
        urls.orchestrator,
        tripRequest(stock, { cardToken: card, amountCents: 50_000 }),
      );
      const trip = await waitForStatus(urls.orchestrator, tripId);

      // Assert
      expect(trip.status).toBe('COMPENSATED');
      expect(trip.failureReason).toContain('card-declined');
      expect(await inventory(urls.flights, stock.flight)).toMatchObject({ available: 1 });
      expect(await inventory(urls.hotels, stock.hotel)).toMatchObject({ available: 1 });
      expect(await inventory(urls.cars, stock.car)).toMatchObject({ available: 1 });
      expect((await fetch(`${urls.payments}/charges/${tripId}`)).status).toBe(404);
      expect(await audit()).toEqual([]);
    });

    test('When trips race for what is left on one card, then it is charged at most its limit: one trip completes, the others are declined', async () => {
      const { urls, audit } = wiring();
      const card = `card-race-${(await createStock(urls, 1)).flight}`;
      await post(`${urls.payments}/cards`, { cardToken: card, limitCents: 50_000 });
      const stocks = await Promise.all(Array.from({ length: 12 }, () => createStock(urls, 1)));

      const trips = await Promise.all(
        stocks.map(async (stock) =>
          waitForStatus(
            urls.orchestrator,
            await bookTrip(
              urls.orchestrator,
              tripRequest(stock, { cardToken: card, amountCents: 50_000 }),
            ),
          ),
        ),
      );

      expect(trips.filter((t) => t.status === 'COMPLETED')).toHaveLength(1);
      for (const trip of trips.filter((t) => t.status !== 'COMPLETED'))
        expect(trip.failureReason).toContain('card-declined');
      expect(await audit()).toEqual([]);
    });

    test('When a trip names an inventory nobody created, then it is COMPENSATED for unknown-inventory', async () => {
      const { urls } = wiring();
      const stock = await createStock(urls, 1);

      const tripId = await bookTrip(
        urls.orchestrator,
        tripRequest({ ...stock, car: '00000000-0000-4000-8000-000000000000' }),
      );
      const trip = await waitForStatus(urls.orchestrator, tripId);

      expect(trip.status).toBe('COMPENSATED');
      expect(trip.failureReason).toContain('unknown-inventory');
      expect(await inventory(urls.flights, stock.flight)).toMatchObject({ available: 1 });
    });

    test('When a trip request is invalid, then 400 problem+json names each bad field and no trip exists', async () => {
      const { urls } = wiring();
      const stock = await createStock(urls, 1);
      const { payment: _payment, ...noPayment } = tripRequest(stock);

      const res = await fetch(`${urls.orchestrator}/trips`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...noPayment, hotel: { id: stock.hotel, nights: 0 } }),
      });

      const problem = await problemOf(res);
      expect(problem).toMatchObject({
        status: 400,
        contentType: expect.stringContaining('application/problem+json') as unknown,
      });
      expect(problem.body.errors?.map((issue) => issue.path).sort()).toEqual([
        'body.hotel.nights',
        'body.payment',
      ]);
      expect(await inventory(urls.hotels, stock.hotel)).toMatchObject({ available: 1 });
    });

    test('When an unknown or malformed trip id is read, then 404 problem+json', async () => {
      const { urls } = wiring();

      const unknown = await fetch(
        `${urls.orchestrator}/trips/00000000-0000-4000-8000-000000000000`,
      );
      const malformed = await fetch(`${urls.orchestrator}/trips/not-a-trip`);

      // One answer for both, by status and by code; only the malformed one names a field.
      const problems = [await problemOf(unknown), await problemOf(malformed)];
      for (const problem of problems)
        expect(problem).toMatchObject({
          status: 404,
          contentType: expect.stringContaining('application/problem+json') as unknown,
          body: { code: 'not-found' },
        });
      expect(problems[0]?.body.errors).toBeUndefined();
      expect(problems[1]?.body.errors).toEqual([expect.objectContaining({ path: 'params.id' })]);
      expect(problems[1]?.body.detail).toContain('params.id');
      await expect(getTrip(urls.orchestrator, 'not-a-trip')).rejects.toThrow(/404/);
    });

    // What the lab console reads, from either wiring.
    test('When trips finished, then GET /trips lists them newest first, each with its trace, and filters by status', async () => {
      const { urls } = wiring();
      const completed = await bookTrip(urls.orchestrator, tripRequest(await createStock(urls, 1)));
      await waitForStatus(urls.orchestrator, completed);
      // A hotel with no rooms: the trip cannot be booked.
      const noRoom = await post<{ id: string }>(`${urls.hotels}/inventory`, { capacity: 0 });
      const compensated = await bookTrip(
        urls.orchestrator,
        tripRequest({ ...(await createStock(urls, 1)), hotel: noRoom.id }),
      );
      await waitForStatus(urls.orchestrator, compensated);

      const newest = await listTrips(urls.orchestrator, '?limit=2');

      expect(newest.map((t) => [t.tripId, t.status])).toEqual([
        [compensated, 'COMPENSATED'],
        [completed, 'COMPLETED'],
      ]);
      expect(newest[0]?.failureReason).toContain('sold-out');
      for (const trip of newest) expect(trip.traceId).toMatch(/^[\da-f]{32}$/);
      // The wiring holds the earlier tests' trips too, some compensated: the filter must return
      // exactly the COMPLETED ones of the full list, in the same order, the newest first.
      const all = await listTrips(urls.orchestrator, '?limit=200');
      const onlyCompleted = await listTrips(urls.orchestrator, '?status=COMPLETED&limit=200');
      expect(all.map((t) => t.status)).toContain('COMPENSATED');
      expect(onlyCompleted.map((t) => t.tripId)).toEqual(
        all.filter((t) => t.status === 'COMPLETED').map((t) => t.tripId),
      );
      expect(onlyCompleted[0]?.tripId).toBe(completed);
    });

    test('When the list limit or status is not acceptable, then 400 problem+json names the field', async () => {
      const { urls } = wiring();
      for (const [query, field] of [
        ['?limit=0', 'query.limit'],
        ['?limit=201', 'query.limit'],
        ['?limit=ten', 'query.limit'],
        // Numbers to Number(), but not the decimal whole number the guide asks for.
        ['?limit=1e2', 'query.limit'],
        ['?limit=0x10', 'query.limit'],
        ['?limit=%205', 'query.limit'],
        ['?status=LOST', 'query.status'],
        ['?page=2', 'query'],
      ] as const) {
        const problem = await problemOf(await fetch(`${urls.orchestrator}/trips${query}`));
        expect(problem, query).toMatchObject({
          status: 400,
          contentType: expect.stringContaining('application/problem+json') as unknown,
        });
        expect(problem.body.errors?.map((e) => e.path)).toContain(field);
      }
    });
  });
}

interface ListedTrip {
  tripId: string;
  status: string;
  failureReason: string | null;
  traceId: string | null;
}

async function listTrips(orchestrator: string, query: string): Promise<ListedTrip[]> {
  const res = await fetch(`${orchestrator}/trips${query}`);
  expect(res.status, query).toBe(200);
  return ((await res.json()) as { trips: ListedTrip[] }).trips;
}
