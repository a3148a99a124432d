/** What a client of the lab does over HTTP: set up inventory, book trips, inject faults. */
import type { ChaosRule } from '@lab/shared/chaos';
import { waitFor } from '@lab/shared/testkit';
import type { Participant } from './services.ts';

export interface Trip {
  tripId: string;
  status: string;
  failureReason: string | null;
  timeline: {
    name: string;
    kind: string;
    state: string;
    attempts: number;
    startedAt: string;
    endedAt: string | null;
    deadlineAt: string | null;
    lastError: string | null;
  }[];
}

export const TERMINAL = ['COMPLETED', 'COMPENSATED'];

async function json<T>(res: Response, expected: number[]): Promise<T> {
  const body = (await res.json()) as T;
  if (!expected.includes(res.status))
    throw new Error(
      `${res.url}: expected ${expected.join('/')}, got ${res.status}: ${JSON.stringify(body)}`,
    );
  return body;
}

export async function post<T>(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  expected = [200, 201, 202],
) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return json<T>(res, expected);
}

export async function createInventory(participantUrl: string, capacity: number): Promise<string> {
  return (await post<{ id: string }>(`${participantUrl}/inventory`, { capacity })).id;
}

export async function inventory(participantUrl: string, id: string) {
  const res = await fetch(`${participantUrl}/inventory/${id}`);
  return json<{ capacity: number; held: number; confirmed: number; available: number }>(res, [200]);
}

/** Sets one chaos rule on a participant (the body of `POST /_chaos`, see @lab/shared/chaos). */
export async function chaos(participantUrl: string, rule: ChaosRule) {
  await post(`${participantUrl}/_chaos`, rule);
}

/** Removes a participant's chaos rules: every one, or the one on `target`. */
export async function clearChaos(participantUrl: string, target?: string) {
  const query = target === undefined ? '' : `?target=${encodeURIComponent(target)}`;
  const res = await fetch(`${participantUrl}/_chaos${query}`, { method: 'DELETE' });
  await json(res, [200]);
}

export interface Stock {
  flight: string;
  hotel: string;
  car: string;
}

export async function createStock(
  urls: Record<Participant, string>,
  capacity: number,
): Promise<Stock> {
  const [flight, hotel, car] = await Promise.all([
    createInventory(urls.flights, capacity),
    createInventory(urls.hotels, capacity),
    createInventory(urls.cars, capacity),
  ]);
  return { flight, hotel, car };
}

export function tripRequest(
  stock: Stock,
  overrides: { cardToken?: string; amountCents?: number; customerId?: string } = {},
) {
  return {
    customerId: overrides.customerId ?? 'ada',
    flight: { id: stock.flight },
    hotel: { id: stock.hotel, nights: 3 },
    car: { id: stock.car, days: 3 },
    payment: {
      cardToken: overrides.cardToken ?? 'card-ok',
      amountCents: overrides.amountCents ?? 125_000,
    },
  };
}

export async function bookTrip(
  orchestratorUrl: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return (await post<{ tripId: string }>(`${orchestratorUrl}/trips`, body, headers, [202])).tripId;
}

export async function getTrip(orchestratorUrl: string, tripId: string): Promise<Trip> {
  return json<Trip>(await fetch(`${orchestratorUrl}/trips/${tripId}`), [200]);
}

export async function waitForStatus(
  orchestratorUrl: string,
  tripId: string,
  statuses: string[] = TERMINAL,
  timeoutMs = 30_000,
): Promise<Trip> {
  return waitFor(
    `trip ${tripId} to reach ${statuses.join('|')}`,
    async () => {
      const trip = await getTrip(orchestratorUrl, tripId);
      return statuses.includes(trip.status) ? trip : undefined;
    },
    { timeoutMs, intervalMs: 50 },
  );
}
