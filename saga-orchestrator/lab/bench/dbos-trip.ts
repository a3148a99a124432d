/**
 * The bench's peer: the same trip as a DBOS Transact workflow, the durable-workflow library a
 * Node user would pick instead of writing an orchestrator. Each participant call is a
 * checkpointed step in DBOS's system database; the participants, their idempotency keys and
 * the compensation order (release what was held, newest first, when a hold or the charge is
 * refused) are the ones the orchestrator's book-trip saga uses, so the two do the same work.
 */
import { DBOS } from '@dbos-inc/dbos-sdk';
import type { Participant } from '../src/services.ts';
import { postJson } from './http-post.ts';

export interface DbosTrip {
  flight: string;
  hotel: string;
  car: string;
  cardToken: string;
  amountCents: number;
}

interface Call {
  name: string;
  participant: Participant;
  path: string;
  body?: object;
}

/** A refusal (4xx) is the participant's answer; anything else is thrown, so DBOS retries it. */
class Refused extends Error {}

export interface DbosPeer {
  book: (tripId: string, trip: DbosTrip) => Promise<'COMPLETED' | 'COMPENSATED'>;
  stop: () => Promise<void>;
}

/** Launches DBOS with its system database in `systemDatabaseUrl` (created by DBOS if missing). */
export async function launchDbosPeer(
  systemDatabaseUrl: string,
  urls: Record<Participant, string>,
  poolSize: number,
): Promise<DbosPeer> {
  const post = async (call: Call, key: string): Promise<number> => {
    const { status } = await postJson(
      `${urls[call.participant]}${call.path}`,
      key,
      call.body ?? {},
    );
    if (status >= 400 && status < 500) throw new Refused(`${call.name}: ${status}`);
    if (status >= 300) throw new Error(`${call.name}: HTTP ${status}`);
    return status;
  };
  // Each call a checkpointed step: once its result is in the system database a recovered
  // workflow skips it. The key is the workflow's id and the step's name, so a step re-run after
  // a crash lands on the participant's stored answer, as the orchestrator's retries do.
  const step = (tripId: string, call: Call) =>
    DBOS.runStep(() => post(call, `${tripId}:${call.name}`), {
      name: call.name,
      retriesAllowed: true,
      maxAttempts: 4,
      intervalSeconds: 0.05,
      shouldRetry: (error) => !(error instanceof Refused),
    });

  const bookTrip = DBOS.registerWorkflow(
    async (tripId: string, trip: DbosTrip): Promise<'COMPLETED' | 'COMPENSATED'> => {
      const holds: { action: Call; compensation: Call }[] = [
        ['flight', 'flights', trip.flight] as const,
        ['hotel', 'hotels', trip.hotel] as const,
        ['car', 'cars', trip.car] as const,
      ].map(([what, participant, inventoryId]) => ({
        action: {
          name: `reserve-${what}`,
          participant,
          path: '/reservations',
          body: { reservationId: tripId, inventoryId },
        },
        compensation: {
          name: `cancel-${what}`,
          participant,
          path: `/reservations/${tripId}/cancel`,
        },
      }));
      const done: Call[] = [];
      try {
        for (const hold of holds) {
          await step(tripId, hold.action);
          done.push(hold.compensation);
        }
        await step(tripId, {
          name: 'charge-payment',
          participant: 'payments',
          path: '/charges',
          body: { chargeId: tripId, cardToken: trip.cardToken, amountCents: trip.amountCents },
        });
      } catch (error) {
        if (!(error instanceof Refused)) throw error;
        // The compensation: release the holds in reverse order, each a checkpointed step.
        for (const compensation of done.reverse()) await step(tripId, compensation);
        return 'COMPENSATED';
      }
      // Past the pivot the trip only goes forward: every hold becomes a sale.
      for (const [what, participant] of [
        ['flight', 'flights'],
        ['hotel', 'hotels'],
        ['car', 'cars'],
      ] as const)
        await step(tripId, {
          name: `confirm-${what}`,
          participant,
          path: `/reservations/${tripId}/confirm`,
        });
      return 'COMPLETED';
    },
    { name: 'book-trip' },
  );

  // DBOS gives each new pooled connection its 60 s idle-in-transaction timeout with a SET it
  // does not wait for, which pg reports as a query on a busy client (a DeprecationWarning at
  // the bench's start). The same setting as a connection option is applied by the server at
  // connect time, and DBOS then sends no SET.
  const url = new URL(systemDatabaseUrl);
  url.searchParams.set('options', '-c idle_in_transaction_session_timeout=60000');
  DBOS.setConfig({
    name: 'saga-bench',
    systemDatabaseUrl: url.toString(),
    systemDatabasePoolSize: poolSize,
    logLevel: 'error',
  });
  await DBOS.launch();
  return {
    book: (tripId, trip) => DBOS.withNextWorkflowID(tripId, () => bookTrip(tripId, trip)),
    stop: () => DBOS.shutdown(),
  };
}
