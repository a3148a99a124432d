import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, propagation } from '@opentelemetry/api';
import type { Express, Response } from 'express';
import { z } from 'zod';
import {
  AppError,
  dependencyUnavailable,
  idempotencyKey,
  isDependencyUnavailable,
  parse,
  problems,
  takesNothing,
  text,
  uuid,
} from '@lab/shared/http';
import type { SagaLog, SagaStatus, StepRow } from '../../data-access/saga-log.repository.ts';
import type { TripRequest } from '../../domain/book-trip.saga.ts';
import type { CrashPoint } from '../../infrastructure/crash-points.ts';
import { sagaMetrics } from '../../infrastructure/saga-metrics.ts';
import type { SagaWorker } from '../../domain/saga-worker.ts';

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

/** The longest a client may ask the orchestrator to hold its answer (Prefer: wait). */
const MAX_WAIT_SECONDS = 60;

/**
 * `Prefer: wait=<seconds>` (RFC 7240): the client would rather get the trip's outcome than a
 * bare 202 and a polling loop. A preference is a hint, so anything else in the header, or a
 * value that is not a whole number, is ignored rather than refused.
 */
export function preferredWaitSeconds(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  // Any number of digits: a wait longer than the maximum is the maximum, however it is spelt.
  const match = /(?:^|[\s,;])wait\s*=\s*"?(\d+)"?\s*(?:[,;]|$)/i.exec(header);
  return match ? Math.min(Number(match[1]), MAX_WAIT_SECONDS) : undefined;
}

/**
 * The statuses no run moves a saga out of by itself: its two ends, and the two STUCK statuses,
 * which wait for an operator (the log counts those as unfinished). A wait for the outcome is
 * over once the log shows one.
 */
const SETTLED: ReadonlySet<SagaStatus> = new Set([
  'COMPLETED',
  'COMPENSATED',
  'COMPENSATION_STUCK',
  'CONFIRMATION_STUCK',
]);
/** How often a wait reads the status of a saga no run of this instance drives. */
const WAIT_POLL_MS = 200;

/**
 * Holds the answer until the saga is terminal or the client's wait is up, and resolves with
 * the terminal status, if it got there. A saga this instance drives is awaited on its run's own
 * promise, so waiting costs no query. One it does not drive (another instance's, one waiting
 * for the claim loop after an operator's retry, or a run that was handed back) is read from the
 * log every WAIT_POLL_MS, and awaited on its run again if one starts here meanwhile. A client
 * that hangs up ends the wait.
 */
async function waitForTerminal(
  log: SagaLog,
  worker: SagaWorker | undefined,
  sagaId: string,
  seconds: number | undefined,
  res: Response,
): Promise<SagaStatus | undefined> {
  if (seconds === undefined) return undefined;
  res.setHeader('Preference-Applied', `wait=${seconds}`);
  if (seconds === 0) return undefined;
  const deadline = performance.now() + seconds * 1000;
  const waiting = new AbortController();
  const hungUp = () => {
    waiting.abort();
  };
  res.once('close', hungUp);
  // Resolves undefined after `ms`, or at once when the client hangs up; its timer goes when
  // `settled` does, so a wait that ends early leaves no timer behind.
  const pause = async (ms: number, settled?: Promise<unknown>) => {
    const timer = new AbortController();
    const stop = () => {
      timer.abort();
    };
    waiting.signal.addEventListener('abort', stop, { once: true });
    void settled?.finally(stop);
    await sleep(ms, undefined, { signal: timer.signal }).catch(() => undefined);
    waiting.signal.removeEventListener('abort', stop);
    return undefined;
  };
  try {
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0 || waiting.signal.aborted) return undefined;
      const run = worker?.runEnded(sagaId)?.catch(() => undefined);
      if (run) {
        const ended = await Promise.race([run, pause(left, run)]);
        if (ended !== undefined && SETTLED.has(ended)) return ended;
        continue;
      }
      const status = await log.status(sagaId);
      if (status === undefined || SETTLED.has(status)) return status;
      await pause(Math.min(WAIT_POLL_MS, left));
    }
  } finally {
    res.off('close', hungUp);
  }
}

/**
 * A read of the saga log after POST /trips has committed its saga. The answer is the trip's 202
 * whatever the log does next: a 503 now would tell a client without an Idempotency-Key to send
 * the trip again, and book it twice. A log that cannot be reached only leaves what the answer
 * says unknown (no adoption now, the status PENDING), and the claim loop or a GET finds the rest.
 */
async function afterCommit<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (!isDependencyUnavailable(error)) throw error;
    return undefined;
  }
}

export function tripRoutes(
  app: Express,
  deps: {
    log: SagaLog;
    worker: SagaWorker | undefined;
    deadlineMs: number;
    /** The saga's first step, whose first attempt the creation logs when this instance drives it. */
    firstStep: { name: string; deadlineMs: number };
    crash: (point: CrashPoint, step: string) => void;
  },
): void {
  const { log, worker, firstStep } = deps;

  /**
   * After an operator's action has handed a stuck saga back (its lease cleared): this instance
   * takes it and runs it now, if it runs sagas and has room. Left to a claim loop, it would wait
   * for the next poll, and for ever with SAGA_WORKER=own, where no claim loop looks. The adopt
   * is fenced like a claim; a log gone away meanwhile leaves the saga to the next claim.
   */
  const driveHere = async (id: string) => {
    if (!worker?.hasRoom() || worker.isRunning(id)) return;
    const lease = await afterCommit(() => log.adopt(id, worker.owner));
    if (lease) worker.launch(lease);
  };

  app.post('/trips', async (req, res) => {
    const idempotencyKey = parse(req, 'headers', Headers)['idempotency-key'];
    const trip = parse(req, 'body', TripRequestBody);
    const requestHash = createHash('sha256').update(JSON.stringify(trip)).digest('hex');
    const traceContext: Record<string, string> = {};
    propagation.inject(context.active(), traceContext);
    const owner = worker?.hasRoom() ? worker.owner : undefined;
    // A saga this instance drives is created with its first attempt logged as started, so the
    // first step's before-log instant is the one before the saga exists.
    if (owner) deps.crash('before-log', firstStep.name);
    const saga = await log
      .create({
        id: randomUUID(),
        idempotencyKey,
        requestHash,
        request: trip,
        traceContext,
        deadlineMs: deps.deadlineMs,
        owner,
        start: { step: firstStep.name, deadlineMs: firstStep.deadlineMs },
      })
      .catch((error: unknown) => {
        // The saga log is the promise behind the 202. Only a log that cannot be reached is a
        // 503: the client retries with its Idempotency-Key and succeeds once it is back. A
        // write the database refused fails the same way on every retry, so it stays an opaque
        // 500, and the driver's message never reaches the client.
        if (!isDependencyUnavailable(error)) throw error;
        // The same 503 as any other unreachable dependency, with a short Retry-After: the
        // retry is cheap, and the trip starts as soon as the log takes it.
        throw dependencyUnavailable(error, 1);
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
      worker?.launch(saga.lease, saga.fresh);
    } else if (!saga.created && worker?.hasRoom() && !worker.isRunning(saga.id)) {
      // A replay: the client's first POST may have committed the saga row and then lost its
      // answer (or this instance died before starting the run), which leaves a saga leased to
      // this instance that nobody drives until the lease runs out, and never with
      // SAGA_WORKER=own, where no claim loop looks. Adopting it here starts it now; the adopt
      // is fenced like a claim, so a saga another live instance drives is left alone.
      const lease = await afterCommit(() => log.adopt(saga.id, worker.owner));
      if (lease) worker.launch(lease);
    }
    if (!saga.created) res.setHeader('Idempotent-Replayed', 'true');
    const wait = preferredWaitSeconds(req.get('prefer'));
    const ended = await afterCommit(() => waitForTerminal(log, worker, saga.id, wait, res));
    // Still 202 after a wait: the status tells whether the trip is terminal yet. A run that
    // ended here says how; otherwise the log does.
    const status =
      wait === undefined
        ? 'PENDING'
        : (ended ?? (await afterCommit(() => log.status(saga.id))) ?? 'PENDING');
    res.status(202).location(`/trips/${saga.id}`).json({ tripId: saga.id, status });
  });

  app.get('/trips/:id', async (req, res) => {
    const { id } = parse(req, 'params', Params, 404);
    takesNothing(req);
    await waitForTerminal(log, worker, id, preferredWaitSeconds(req.get('prefer')), res);
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
    takesNothing(req);
    if (!(await log.retryStuck(id))) {
      const found = await log.load(id);
      if (!found) throw problems.notFound('The trip');
      throw problems.conflict(
        'trip-not-stuck',
        `The trip is ${found.saga.status}; only COMPENSATION_STUCK trips can be retried.`,
      );
    }
    await driveHere(id);
    res.status(202).location(`/trips/${id}`).json({ tripId: id, status: 'COMPENSATING' });
  });

  /**
   * Operator endpoint: a step after the pivot was refused, and retrying would only replay the
   * refusal. Undo the paid trip: refund the charge and release every hold and sale.
   */
  app.post('/trips/:id/compensate', async (req, res) => {
    const { id } = parse(req, 'params', Params, 404);
    takesNothing(req);
    if (!(await log.compensateStuck(id))) {
      const found = await log.load(id);
      if (!found) throw problems.notFound('The trip');
      throw problems.conflict(
        'trip-not-stuck',
        `The trip is ${found.saga.status}; only CONFIRMATION_STUCK trips can be compensated by an operator.`,
      );
    }
    await driveHere(id);
    res.status(202).location(`/trips/${id}`).json({ tripId: id, status: 'COMPENSATING' });
  });
}
