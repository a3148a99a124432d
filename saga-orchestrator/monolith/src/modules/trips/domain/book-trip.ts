/**
 * Booking a trip in the modular monolith: the four business steps of the saga (reserve flight,
 * hotel and car, charge the card), called in-process through typed ports, inside ONE local
 * ACID transaction. Either every step commits or none does, so there is no saga log, no
 * compensation, no pivot and no idempotency key between modules: a crash at any instant
 * leaves the database as if the trip had never been asked for, or fully booked.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '@lab/shared/errors';
import { withTransaction, type Pool, type PoolClient } from '@lab/shared/pg';
import { asModule } from '../../../infrastructure/module-scope.ts';
import { allOrNothing } from '../../../infrastructure/savepoint.ts';
import * as trips from '../data-access/trips.repository.ts';

/** What a client asks for, the same body the orchestrator accepts. */
export interface TripRequest {
  customerId: string;
  flight: { id: string };
  hotel: { id: string; nights: number };
  car: { id: string; days: number };
  payment: { cardToken: string; amountCents: number };
}

/** The inventory modules' port: sell units on the caller's transaction, or throw a rule's "no". */
export interface InventoryPort {
  sell: (
    tx: PoolClient,
    input: { reservationId: string; inventoryId: string; quantity: number },
  ) => Promise<void>;
}
/** The payments module's port: capture a charge on the caller's transaction, or decline. */
export interface PaymentPort {
  capture: (
    tx: PoolClient,
    input: { chargeId: string; cardToken: string; amountCents: number },
  ) => Promise<void>;
}

export interface BookingPorts {
  pool: Pool;
  flights: InventoryPort;
  hotels: InventoryPort;
  cars: InventoryPort;
  payments: PaymentPort;
}

/** A business "no" from a module, with the step it ended, worded as the saga words it. */
class StepRefused extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}

async function step(name: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    // A 4xx from a rule (sold out, declined, unknown inventory) is the trip's answer; anything
    // else (the database went away) is not, and aborts the whole transaction.
    if (error instanceof AppError && error.httpStatus < 500)
      throw new StepRefused(`${name}: ${error.httpStatus} ${error.code}`);
    throw error;
  }
}

async function sellEverything(ports: BookingPorts, tx: PoolClient, id: string, trip: TripRequest) {
  const hold = (inventoryId: string) => ({ reservationId: id, inventoryId, quantity: 1 });
  await step('reserve-flight', () => ports.flights.sell(tx, hold(trip.flight.id)));
  await step('reserve-hotel', () => ports.hotels.sell(tx, hold(trip.hotel.id)));
  await step('reserve-car', () => ports.cars.sell(tx, hold(trip.car.id)));
  await step('charge-payment', () =>
    ports.payments.capture(tx, {
      chargeId: id,
      cardToken: trip.payment.cardToken,
      amountCents: trip.payment.amountCents,
    }),
  );
}

export interface Booking {
  trip: trips.TripRow;
  /** False when the Idempotency-Key named a trip booked before: this is its answer again. */
  created: boolean;
}

export async function bookTrip(
  ports: BookingPorts,
  input: {
    idempotencyKey: string | undefined;
    requestHash: string;
    request: TripRequest;
    traceId: string | null;
  },
): Promise<Booking> {
  return withTransaction(ports.pool, async (tx) => {
    const id = randomUUID();
    const created = await asModule(tx, 'trips', (scoped) =>
      trips.createTrip(scoped, { id, ...input }),
    );
    if (!created.created) return { trip: created.row, created: false };
    let outcome: { status: 'COMPLETED' | 'COMPENSATED'; reason: string | null } = {
      status: 'COMPLETED',
      reason: null,
    };
    try {
      await allOrNothing(tx, () => sellEverything(ports, tx, id, input.request));
    } catch (error) {
      if (!(error instanceof StepRefused)) throw error;
      // Nothing a module wrote survives the savepoint's rollback, so there is nothing to
      // compensate. The status is the one the saga reports for the same business outcome.
      outcome = { status: 'COMPENSATED', reason: error.reason };
    }
    const trip = await asModule(tx, 'trips', (scoped) => trips.finishTrip(scoped, id, outcome));
    return { trip, created: true };
  });
}
