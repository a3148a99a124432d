import { createHash } from 'node:crypto';
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import type { Express } from 'express';
import { z } from 'zod';
import {
  AppError,
  idempotencyKey,
  parse,
  problems,
  takesNothing,
  text,
  uuid,
  wholeNumber,
} from '@lab/shared/http';
import { withTransaction } from '@lab/shared/pg';
import { asModule } from '../../../../infrastructure/module-scope.ts';
import { listTrips, loadTrip } from '../../data-access/trips.repository.ts';
import { bookTrip, type BookingPorts, type TripRequest } from '../../domain/book-trip.ts';

// The orchestrator's public contract, field for field: a client cannot tell the wirings apart.
const TripRequestBody = z
  .object({
    customerId: text({ max: 100 }),
    flight: z.object({ id: uuid() }).strict(),
    hotel: z.object({ id: uuid(), nights: z.number().int().min(1).max(365) }).strict(),
    car: z.object({ id: uuid(), days: z.number().int().min(1).max(365) }).strict(),
    payment: z
      .object({
        cardToken: text({ max: 100 }),
        amountCents: z.number().int().min(1).max(100_000_000),
      })
      .strict(),
  })
  .strict() satisfies z.ZodType<TripRequest>;
const Headers = z.object({ 'idempotency-key': idempotencyKey().optional() });
const Params = z.object({ id: uuid() });
const ListQuery = z
  .object({
    limit: wholeNumber({ min: 1, max: 200, fallback: 20 }),
    // The orchestrator's statuses, so a filter means the same on either wiring; here only
    // COMPLETED and COMPENSATED are ever committed, so any other lists nothing.
    status: z
      .enum([
        'PENDING',
        'CONFIRMING',
        'COMPLETED',
        'COMPENSATING',
        'COMPENSATED',
        'COMPENSATION_STUCK',
        'CONFIRMATION_STUCK',
      ])
      .optional(),
  })
  .strict();

/** The trace this request belongs to (the HTTP server span's), or null when none is recorded. */
function activeTraceId(): string | null {
  const span = trace.getSpanContext(context.active());
  return span && isSpanContextValid(span) ? span.traceId : null;
}

export function tripRoutes(app: Express, ports: BookingPorts): void {
  app.post('/trips', async (req, res) => {
    const key = parse(req, 'headers', Headers)['idempotency-key'];
    const request = parse(req, 'body', TripRequestBody);
    const requestHash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
    const { trip, created } = await bookTrip(ports, {
      idempotencyKey: key,
      requestHash,
      request,
      traceId: activeTraceId(),
    });
    if (!created && trip.request_hash !== requestHash)
      throw new AppError(
        'idempotency-key-reused',
        422,
        'This Idempotency-Key was already used for a different trip.',
      );
    if (!created) res.setHeader('Idempotent-Replayed', 'true');
    // 202 and a Location, as the orchestrator answers, so clients of either wiring follow the
    // same contract; the status is already final, because the transaction has committed.
    res.status(202).location(`/trips/${trip.id}`).json({ tripId: trip.id, status: trip.status });
  });

  app.get('/trips/:id', async (req, res) => {
    const { id } = parse(req, 'params', Params, 404);
    takesNothing(req);
    const trip = await withTransaction(ports.pool, (tx) =>
      asModule(tx, 'trips', (scoped) => loadTrip(scoped, id)),
    );
    if (!trip) throw problems.notFound('The trip');
    res.json({
      tripId: trip.id,
      status: trip.status,
      failureReason: trip.failure_reason,
      request: trip.request,
      createdAt: trip.created_at,
      finishedAt: trip.finished_at,
      // No deadline (nothing runs after the commit) and no timeline of steps: one transaction.
      deadlineAt: null,
      timeline: [],
    });
  });

  // What the lab console reads, in the orchestrator's shape: each trip with its trace, and an
  // empty timeline, because a trip here is one transaction with no steps to show.
  app.get('/trips', async (req, res) => {
    const { limit, status } = parse(req, 'query', ListQuery);
    const trips = await withTransaction(ports.pool, (tx) =>
      asModule(tx, 'trips', (scoped) => listTrips(scoped, { limit, status })),
    );
    res.json({
      trips: trips.map((trip) => ({
        tripId: trip.id,
        status: trip.status,
        failureReason: trip.failure_reason,
        createdAt: trip.created_at,
        finishedAt: trip.finished_at,
        traceId: trip.trace_id,
        timeline: [],
      })),
    });
  });
}
