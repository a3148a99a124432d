import type { StepRetrySettings, SagaDefinition } from './saga-definition.ts';

/** What a client asks for: the trip's three holds and the card that pays for them. */
export interface TripRequest {
  customerId: string;
  flight: { id: string };
  hotel: { id: string; nights: number };
  car: { id: string; days: number };
  payment: { cardToken: string; amountCents: number };
}

export function stepRetrySettings(overrides: Partial<StepRetrySettings> = {}): StepRetrySettings {
  return {
    maxAttempts: 4,
    baseDelayMs: 50,
    maxDelayMs: 1000,
    timeoutMs: 2000,
    deadlineMs: 15_000,
    ...overrides,
  };
}

const reserve = (participant: string, inventoryId: string, sagaId: string) => ({
  participant,
  path: '/reservations',
  body: { reservationId: sagaId, inventoryId },
});
const onReservation = (participant: string, sagaId: string, verb: 'confirm' | 'cancel') => ({
  participant,
  path: `/reservations/${sagaId}/${verb}`,
});

/**
 * The travel booking: hold everything first (each hold is a semantic lock that a compensation
 * releases), then charge the card (the pivot), then turn every hold into a sale. The holds come
 * first because they are cheap to undo; a charge is not.
 */
export function bookTripSaga(
  retry: StepRetrySettings = stepRetrySettings(),
): SagaDefinition<TripRequest> {
  return {
    name: 'book-trip',
    steps: [
      {
        name: 'reserve-flight',
        kind: 'compensatable',
        action: (trip, id) => reserve('flights', trip.flight.id, id),
        compensation: {
          name: 'cancel-flight',
          call: (_t, id) => onReservation('flights', id, 'cancel'),
        },
        retry,
      },
      {
        name: 'reserve-hotel',
        kind: 'compensatable',
        action: (trip, id) => reserve('hotels', trip.hotel.id, id),
        compensation: {
          name: 'cancel-hotel',
          call: (_t, id) => onReservation('hotels', id, 'cancel'),
        },
        retry,
      },
      {
        name: 'reserve-car',
        kind: 'compensatable',
        action: (trip, id) => reserve('cars', trip.car.id, id),
        compensation: { name: 'cancel-car', call: (_t, id) => onReservation('cars', id, 'cancel') },
        retry,
      },
      {
        name: 'charge-payment',
        kind: 'pivot',
        action: (trip, id) => ({
          participant: 'payments',
          path: '/charges',
          body: {
            chargeId: id,
            cardToken: trip.payment.cardToken,
            amountCents: trip.payment.amountCents,
          },
        }),
        compensation: {
          name: 'refund-payment',
          call: (_t, id) => ({ participant: 'payments', path: `/charges/${id}/refund` }),
        },
        retry,
      },
      {
        name: 'confirm-flight',
        kind: 'retriable',
        action: (_t, id) => onReservation('flights', id, 'confirm'),
        retry,
      },
      {
        name: 'confirm-hotel',
        kind: 'retriable',
        action: (_t, id) => onReservation('hotels', id, 'confirm'),
        retry,
      },
      {
        name: 'confirm-car',
        kind: 'retriable',
        action: (_t, id) => onReservation('cars', id, 'confirm'),
        retry,
      },
    ],
  };
}
