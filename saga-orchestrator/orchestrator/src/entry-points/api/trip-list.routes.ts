import type { Express } from 'express';
import { z } from 'zod';
import { parse, takesNothing, wholeNumber } from '@lab/shared/http';
import type { Pool } from '@lab/shared/pg';
import type { SagaStatus } from '../../data-access/saga-log.repository.ts';
import { listTrips } from '../../data-access/trip-list.query.ts';
import type { SagaDefinition } from '../../domain/saga-definition.ts';
import { timelineEntry } from './trips.routes.ts';

const STATUSES = [
  'PENDING',
  'CONFIRMING',
  'COMPLETED',
  'COMPENSATING',
  'COMPENSATED',
  'COMPENSATION_STUCK',
  'CONFIRMATION_STUCK',
] as const satisfies readonly SagaStatus[];

const ListQuery = z
  .object({
    limit: wholeNumber({ min: 1, max: 200, fallback: 20 }),
    status: z.enum(STATUSES).optional(),
  })
  .strict();

/** The trace a saga belongs to, from the W3C traceparent its POST /trips carried. */
const traceIdOf = (traceContext: Record<string, string>) =>
  /^[\da-f]{2}-([\da-f]{32})-/.exec(traceContext.traceparent ?? '')?.[1] ?? null;

/**
 * Read-only views for operators: recent trips with their timelines, and the saga's declared
 * steps, so a console can draw the steps a trip has not reached yet (and where the pivot is).
 */
export function tripListRoutes(
  app: Express,
  deps: { pool: Pool; definition: SagaDefinition<unknown> },
): void {
  app.get('/trips', async (req, res) => {
    const { limit, status } = parse(req, 'query', ListQuery);
    const trips = await listTrips(deps.pool, { limit, status });
    res.json({
      trips: trips.map(({ saga, steps }) => ({
        tripId: saga.id,
        status: saga.status,
        failureReason: saga.failure_reason,
        createdAt: saga.created_at,
        finishedAt: saga.finished_at,
        traceId: traceIdOf(saga.trace_context),
        timeline: steps.map(timelineEntry),
      })),
    });
  });

  app.get('/saga-definition', (req, res) => {
    takesNothing(req);
    res.json({
      name: deps.definition.name,
      steps: deps.definition.steps.map((step) => ({
        name: step.name,
        kind: step.kind,
        compensation: step.compensation?.name ?? null,
      })),
    });
  });
}
