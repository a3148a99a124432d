import { AppError } from '@lab/shared/http';
import type { ConsoleConfig } from '../config.ts';
import { callWithin, expectOk, newTrace, poll } from './http.ts';

export const PARTICIPANTS = ['flights', 'hotels', 'cars', 'payments'] as const;
export type Participant = (typeof PARTICIPANTS)[number];
/** The participants that hold inventory, so the ones a trip can find sold out. */
export const SOLD_OUT_PARTICIPANTS = ['flights', 'hotels', 'cars'] as const;
export const PARTICIPANT_FAULTS = ['reject', 'error', 'hang', 'reset', 'lose-response'] as const;
export const PARTICIPANT_TARGETS = ['action', 'confirmation', 'compensation'] as const;

/**
 * What answers on the orchestrator's address: the split lab (an orchestrator and four
 * participant services) or `pnpm lab saga up --monolith` (one process, one transaction per
 * trip, each module's admin routes under its name), told apart by the name in its `/healthz`.
 */
export type SagaWiring = 'saga' | 'monolith';

interface SagaDefinition {
  name: string;
  steps: { name: string; kind: string; compensation: string | null }[];
}

/**
 * Watches the saga lab: recent trips with their timelines (from the orchestrator's
 * `GET /trips`), the saga's declared steps (`GET /saga-definition`, for the steps a trip has
 * not reached yet) and each participant's active faults. For the monolith: its trips alone, as
 * it has no steps, no saga definition and no network between modules to break.
 */
export function sagaWatch(config: ConsoleConfig) {
  const call = callWithin(config.CONSOLE_ACTION_TIMEOUT_MS);
  const orchestrator = config.CONSOLE_SAGA_ORCHESTRATOR_URL;
  const services: Record<Participant, string> = {
    flights: config.CONSOLE_SAGA_FLIGHTS_URL,
    hotels: config.CONSOLE_SAGA_HOTELS_URL,
    cars: config.CONSOLE_SAGA_CARS_URL,
    payments: config.CONSOLE_SAGA_PAYMENTS_URL,
  };
  let wiring: SagaWiring | undefined;
  let latest: Record<string, unknown> = { up: false };
  /** Where a participant's admin routes are: its own service, or its module's path in the monolith. */
  const participantUrl = (p: Participant) =>
    wiring === 'monolith' ? `${orchestrator}/${p}` : services[p];

  /**
   * Asked on every poll and before every action, not remembered: Ctrl-C and `up --monolith`
   * put the other wiring on the same address within seconds, and a booking sent to the wrong
   * one's admin routes would fail. One GET of /healthz, which no trace or log records.
   */
  const probeWiring = async () => {
    const health = await poll<{ service?: string }>(`${orchestrator}/healthz`);
    wiring =
      health === undefined ? undefined : health.service === 'saga-monolith' ? 'monolith' : 'saga';
    return wiring;
  };

  const refresh = async () => {
    if ((await probeWiring()) === 'monolith') {
      const trips = await poll<{ trips: unknown[] }>(`${orchestrator}/trips?limit=20`);
      latest = {
        up: trips !== undefined,
        wiring: 'monolith',
        orchestratorUrl: orchestrator,
        definition: null,
        trips: trips?.trips ?? [],
        faults: null,
      };
      return;
    }
    const [trips, defined, ...faults] = await Promise.all([
      poll<{ trips: unknown[] }>(`${orchestrator}/trips?limit=20`),
      // Asked on every poll, not kept: an orchestrator restarted between two polls (the idle
      // clock's 5 s is time enough) may run an edited definition, and the answer is a small
      // document the orchestrator builds from its fixed definition.
      poll<SagaDefinition>(`${orchestrator}/saga-definition`),
      ...PARTICIPANTS.map((p) => poll<{ rules: Record<string, unknown> }>(`${services[p]}/_chaos`)),
    ]);
    latest = {
      up: trips !== undefined,
      wiring: 'saga',
      orchestratorUrl: orchestrator,
      definition: defined ?? null,
      trips: trips?.trips ?? [],
      faults: Object.fromEntries(PARTICIPANTS.map((p, i) => [p, faults[i]?.rules ?? null])),
    };
  };

  /** Faults are set on the participants' services; the monolith's modules have none to break. */
  const splitOnly = async (what: string) => {
    if ((await probeWiring()) === 'monolith')
      throw new AppError(
        'not-in-this-wiring',
        409,
        `The saga monolith cannot ${what}: its modules meet in one process and one transaction, with no network between them to break.`,
      );
  };

  /**
   * Books one trip on fresh inventory (one seat, room and car; `soldOut` gives that participant
   * none, so its reservation is refused and the saga compensates what it already holds).
   */
  const bookTrip = async (soldOut: (typeof SOLD_OUT_PARTICIPANTS)[number] | undefined) => {
    await probeWiring();
    const stock = async (p: 'flights' | 'hotels' | 'cars') =>
      (
        await expectOk<{ id: string }>(
          `create ${p} inventory`,
          call('POST', `${participantUrl(p)}/inventory`, {
            body: { capacity: soldOut === p ? 0 : 1 },
          }),
        )
      ).id;
    const [flight, hotel, car] = await Promise.all([
      stock('flights'),
      stock('hotels'),
      stock('cars'),
    ]);
    const trace = newTrace();
    const booked = await expectOk<{ tripId: string; status: string }>(
      'book a trip',
      call('POST', `${orchestrator}/trips`, {
        headers: { traceparent: trace.traceparent },
        body: {
          customerId: 'console',
          flight: { id: flight },
          hotel: { id: hotel, nights: 2 },
          car: { id: car, days: 2 },
          // A card the payments service has no limit for: only a fault declines it.
          payment: { cardToken: 'console-card', amountCents: 98_000 },
        },
      }),
    );
    return { ...booked, traceId: trace.traceId };
  };

  return {
    refresh,
    snapshot: () => latest,
    bookTrip,
    injectFault: async (
      participant: Participant,
      target: (typeof PARTICIPANT_TARGETS)[number],
      fault: (typeof PARTICIPANT_FAULTS)[number],
    ) => {
      await splitOnly('take a fault');
      return expectOk(
        `fault on ${participant}`,
        call('POST', `${services[participant]}/_chaos`, {
          body: { target, faults: { [fault]: 1 } },
        }),
      );
    },
    clearFaults: async () => {
      await splitOnly('clear faults');
      return Promise.all(
        PARTICIPANTS.map((p) =>
          expectOk(`clear ${p} faults`, call('DELETE', `${services[p]}/_chaos`)),
        ),
      );
    },
    retryCompensation: (tripId: string) =>
      expectOk(
        'retry the compensation',
        call('POST', `${orchestrator}/trips/${tripId}/retry-compensation`),
      ),
    compensateTrip: (tripId: string) =>
      expectOk('compensate the trip', call('POST', `${orchestrator}/trips/${tripId}/compensate`)),
  };
}
