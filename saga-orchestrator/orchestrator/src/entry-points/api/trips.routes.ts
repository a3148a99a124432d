import { createHash, randomUUID } from 'node:crypto';
import { context, propagation } from '@opentelemetry/api';
import type { Express } from 'express';
import { z } from 'zod';
import {
  AppError,
  idempotencyKey,
  isDependencyUnavailable,
  parse,
  problems,
  text,
} from '@lab/shared/http';
import type { SagaLog, StepRow } from '../../data-access/saga-log.repository.ts';
import type { TripRequest } from '../../domain/book-trip.saga.ts';
import { sagaMetrics } from '../../infrastructure/saga-metrics.ts';
import type { SagaWorker } from '../../domain/saga-worker.ts';

const TripRequestBody = z
  .object({
    customerId: text({ max: 100 }),
    flight: z.object({ id: z.uuid() }).strict(),
    hotel: z.object({ id: z.uuid(), nights: z.number().int().min(1).max(365) }).strict(),
    car: z.object({ id: z.uuid(), days: z.number().int().min(1).max(365) }).strict(),
    payment: z
      .object({
        cardToken: text({ max: 100 }),
        amountCents: z.number().int().min(1).max(100_000_000),
      })
      .strict(),
  })
  .strict() satisfies z.ZodType<TripRequest>;
const Headers = z.object({ 'idempotency-key': idempotencyKey().optional() });
const Params = z.object({ id: z.uuid() });

export function timelineEntry(step: StepRow) {
  return {
    name: step.name,
    kind: step.kind,
    state: step.state,
    attempts: step.attempts,
    startedAt: step.started_at,
    endedAt: step.ended_at,
    deadlineAt: step.deadline_at,
    lastError: step.last_error,
  };
}

export function tripRoutes(
  app: Express,
  deps: { log: SagaLog; worker: SagaWorker | undefined; deadlineMs: number },
): void {
  const { log, worker } = deps;

  app.post('/trips', async (req, res) => {
    const idempotencyKey = parse(req, 'headers', Headers)['idempotency-key'];
    const trip = parse(req, 'body', TripRequestBody);
    const requestHash = createHash('sha256').update(JSON.stringify(trip)).digest('hex');
    const traceContext: Record<string, string> = {};
    propagation.inject(context.active(), traceContext);
    const owner = worker?.hasRoom() ? worker.owner : undefined;
    const saga = await log
      .create({
        id: randomUUID(),
        idempotencyKey,
        requestHash,
        request: trip,
        traceContext,
        deadlineMs: deps.deadlineMs,
        owner,
      })
      .catch((error: unknown) => {
        // The saga log is the promise behind the 202. Only a log that cannot be reached is a
        // 503: the client retries with its Idempotency-Key and succeeds once it is back. A
        // write the database refused fails the same way on every retry, so it stays an opaque
        // 500, and the driver's message never reaches the client.
        if (!isDependencyUnavailable(error)) throw error;
        throw new AppError(
          'saga-log-unavailable',
          503,
          'The saga log is unreachable; retry later.',
          {
            headers: { 'Retry-After': '1' },
            cause: error,
          },
        );
      });
    if (!saga.created && saga.requestHash !== requestHash)
      throw new AppError(
        'idempotency-key-reused',
        422,
        'This Idempotency-Key was already used for a different trip.',
      );
    // The saga row is committed before the answer: a 202 is a promise the log will keep.
    if (saga.lease) {
      sagaMetrics.started.inc();
      // The row it just wrote goes along: the first run starts without reading it back.
      worker?.launch(saga.lease, saga.saga);
    } else if (!saga.created && worker?.hasRoom() && !worker.isRunning(saga.id)) {
      // A replay: the client's first POST may have committed the saga row and then lost its
      // answer (or this instance died before starting the run), which leaves a saga leased to
      // this instance that nobody drives until the lease runs out, and never with
      // SAGA_WORKER=own, where no claim loop looks. Adopting it here starts it now; the adopt
      // is fenced like a claim, so a saga another live instance drives is left alone.
      const lease = await log.adopt(saga.id, worker.owner);
      if (lease) worker.launch(lease);
    }
    if (!saga.created) res.setHeader('Idempotent-Replayed', 'true');
    res.status(202).location(`/trips/${saga.id}`).json({ tripId: saga.id, status: 'PENDING' });
  });

  app.get('/trips/:id', async (req, res) => {
    const { id } = parse(req, 'params', Params, 404);
    const found = await log.load(id);
    if (!found) throw problems.notFound('The trip');
    const { saga, steps } = found;
    res.json({
      tripId: saga.id,
      status: saga.status,
      failureReason: saga.failure_reason,
      request: saga.request,
      createdAt: saga.created_at,
      finishedAt: saga.finished_at,
      deadlineAt: saga.deadline_at,
      timeline: steps.map(timelineEntry),
    });
  });

  /** Operator endpoint: after fixing the cause, give a stuck compensation a fresh budget. */
  app.post('/trips/:id/retry-compensation', async (req, res) => {
    const { id } = parse(req, 'params', Params, 404);
    if (!(await log.retryStuck(id))) {
      const found = await log.load(id);
      if (!found) throw problems.notFound('The trip');
      throw problems.conflict(
        'trip-not-stuck',
        `The trip is ${found.saga.status}; only COMPENSATION_STUCK trips can be retried.`,
      );
    }
    res.status(202).location(`/trips/${id}`).json({ tripId: id, status: 'COMPENSATING' });
  });
}
