import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT_CONTEXT, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { Logger } from '@lab/shared/logging';
import type { ParticipantClient } from '../data-access/participant.client.ts';
import {
  LeaseLostError,
  type FreshSaga,
  type Lease,
  type SagaLog,
  type SagaRow,
  type SagaStatus,
  type StartedAttempt,
  type StepRow,
} from '../data-access/saga-log.repository.ts';
import type { CrashPoint } from '../infrastructure/crash-points.ts';
import type { ParticipantCall, StepRetrySettings, SagaDefinition } from './saga-definition.ts';
import { sagaMetrics } from '../infrastructure/saga-metrics.ts';
import type { Answer, SagaPolicy } from './saga-policy.ts';

const tracer = trace.getTracer('saga-orchestrator');
/** Why a step that can still fail ends once its deadline has passed (see `attempt`). */
const DEADLINE_EXCEEDED = 'step deadline exceeded';

export interface RunnerDeps {
  log: SagaLog;
  definition: SagaDefinition<unknown>;
  client: ParticipantClient;
  policy: SagaPolicy;
  crash: (point: CrashPoint, step: string) => void;
  logger: Logger;
  /** Counted attempts of one compensation before the saga shows COMPENSATION_STUCK. */
  stuckAfter: number;
  /** True once the instance is shutting down: hand the saga back between two steps. */
  stopping: () => boolean;
}

interface Attempt {
  outcome: 'ok' | 'rejected' | 'transient';
  /** The participant was down, or could not reach its own database: retried, not counted. */
  unavailable: boolean;
  /** The participant may have acted although no answer said so: a timeout, a dropped answer. */
  ambiguous: boolean;
  error: string;
  attempts: number;
  budgetBase: number;
  deadlineAt: Date;
  participantMs: number;
}

interface Compensation {
  name: string;
  call: ParticipantCall;
  retry: StepRetrySettings;
}

/**
 * A participant answers 503 `dependency-unavailable` when its own database is unreachable
 * (restarting, failing over), and refuses connections while its process is down (crashed,
 * restarting, deploying). Neither says anything about the business outcome, and both pass once
 * the participant is back, so they must not use up the attempts that decide between retrying
 * and compensating: a restart would otherwise compensate trips that were never refused, and
 * leave their compensations STUCK because they could not reach it either.
 */
export function participantUnavailable(answer: Answer): boolean {
  return (
    (answer.status === 503 && answer.code === 'dependency-unavailable') || answer.unreached === true
  );
}

/**
 * Drives one saga from wherever its log says it is. Nothing is kept only in memory: every
 * decision is written (fenced by the lease) before the next participant call, so killing the
 * process between any two lines leaves a log another run can continue from.
 */
export class SagaRunner {
  private readonly deps: RunnerDeps;

  constructor(deps: RunnerDeps) {
    this.deps = deps;
  }

  /**
   * `fresh`: a saga this instance just created, so there is nothing to read back, and the first
   * attempt its creation already logged. Resolves with the terminal status this run wrote (or
   * found), or undefined when the run handed the saga back or lost it to another instance.
   */
  async run(lease: Lease, fresh?: FreshSaga): Promise<SagaStatus | undefined> {
    const loaded = fresh ? { saga: fresh.saga, steps: [] } : await this.deps.log.load(lease.sagaId);
    if (!loaded) return undefined;
    // The trip's trace context was stored with the saga, so work resumed by another instance
    // (or after a restart) still lands in the trace of the request that created it.
    const parent = propagation.extract(ROOT_CONTEXT, loaded.saga.trace_context);
    return context.with(parent, async () => {
      try {
        return await this.drive(loaded.saga, loaded.steps, lease, fresh?.started);
      } catch (error) {
        if (!(error instanceof LeaseLostError)) throw error;
        sagaMetrics.leaseLost.inc();
        this.deps.logger.warn(
          { sagaId: lease.sagaId },
          'lease lost: another instance owns this saga',
        );
        return undefined;
      }
    });
  }

  private async drive(
    saga: SagaRow,
    steps: StepRow[],
    lease: Lease,
    firstStarted: { step: string; attempt: StartedAttempt } | undefined,
  ): Promise<SagaStatus | undefined> {
    const { definition, log, logger } = this.deps;
    // An action still RUNNING in the log was cut off by a crash between its start and its
    // outcome: the call may have reached the participant (a charge taken, a room held), so it
    // is as ambiguous as a timeout, and a failure of its step must compensate it too.
    const ambiguousSteps = new Set(
      steps
        .filter((row) => row.ambiguous || (row.kind === 'action' && row.state === 'RUNNING'))
        .map((row) => row.name),
    );
    // The attempt the last write already logged (the saga's creation, for its first step), so
    // the next call needs no write of its own.
    let started = firstStarted;
    const takeStarted = (name: string) => {
      const attempt = started?.step === name ? started.attempt : undefined;
      started = undefined;
      return attempt;
    };
    for (;;) {
      if (this.deps.stopping()) {
        await log.release(lease);
        return undefined;
      }
      if (saga.status === 'PENDING' || saga.status === 'CONFIRMING') {
        const step = definition.steps[saga.cursor];
        if (!step) {
          await log.finish(lease, 'COMPLETED');
          sagaMetrics.finished.inc({ status: 'COMPLETED' });
          logger.debug({ sagaId: saga.id }, 'saga completed');
          return 'COMPLETED';
        }
        const prestarted = takeStarted(step.name);
        if (!prestarted && step.kind !== 'retriable' && saga.deadline_at.getTime() <= Date.now()) {
          await this.fail(
            saga,
            lease,
            saga.cursor,
            'saga deadline exceeded',
            ambiguousSteps.has(step.name),
          );
          continue;
        }
        const attempt = await this.attempt(
          lease,
          step.name,
          'action',
          step.action(saga.request, saga.id),
          step.retry,
          prestarted,
          step.kind !== 'retriable',
        );
        if (attempt.outcome === 'ok') {
          const status = step.kind === 'pivot' ? 'CONFIRMING' : saga.status;
          const next = definition.steps[saga.cursor + 1];
          // Started in the same write when the loop would call it next anyway: not shutting
          // down, and not past the saga's deadline unless it only retries forward.
          const startNext =
            next &&
            !this.deps.stopping() &&
            (next.kind === 'retriable' || saga.deadline_at.getTime() > Date.now());
          if (startNext) this.deps.crash('before-log', next.name);
          const nextAttempt = await log.stepSucceeded(
            lease,
            step.name,
            { cursor: saga.cursor + 1, status, participantMs: attempt.participantMs },
            startNext
              ? { start: { step: next.name, kind: 'action', deadlineMs: next.retry.deadlineMs } }
              : next
                ? {}
                : { finish: 'COMPLETED' },
          );
          this.deps.crash('after-log', step.name);
          saga.cursor += 1;
          saga.status = status;
          if (!next) {
            sagaMetrics.finished.inc({ status: 'COMPLETED' });
            logger.debug({ sagaId: saga.id }, 'saga completed');
            return 'COMPLETED';
          }
          if (nextAttempt) started = { step: next.name, attempt: nextAttempt };
          continue;
        }
        if (attempt.ambiguous) ambiguousSteps.add(step.name);
        const ambiguous = ambiguousSteps.has(step.name);
        // Only counted attempts exhaust the step; the step's deadline bounds the rest, so a
        // participant whose database stays away longer than that still ends in compensation.
        const outOfAttempts =
          !attempt.unavailable && attempt.attempts - attempt.budgetBase >= step.retry.maxAttempts;
        const pastDeadline = attempt.deadlineAt.getTime() <= Date.now();
        if (
          step.kind !== 'retriable' &&
          (attempt.outcome === 'rejected' || outOfAttempts || pastDeadline)
        ) {
          // The reason names what ended the step: a "no", the counted attempts, or the deadline,
          // which may pass while the last attempt is still out (its error is kept beside it).
          const reason =
            attempt.outcome === 'rejected' || outOfAttempts || attempt.error === DEADLINE_EXCEEDED
              ? attempt.error
              : `${DEADLINE_EXCEEDED} (last attempt: ${attempt.error})`;
          await this.fail(saga, lease, saga.cursor, `${step.name}: ${reason}`, ambiguous);
          continue;
        }
        if (step.kind === 'retriable' && attempt.outcome === 'rejected') {
          // A "no" after the pivot is a decision, not an outage: the participant stored it
          // under the step's idempotency key and would replay it to every retry. The card is
          // charged, so only an operator may turn the trip back (POST /trips/:id/compensate).
          await log.markStuck(lease, 'CONFIRMATION_STUCK', step.name, attempt.error);
          sagaMetrics.finished.inc({ status: 'CONFIRMATION_STUCK' });
          logger.error(
            { sagaId: saga.id, step: step.name, error: attempt.error },
            'step after the pivot refused: operator action needed',
          );
          return 'CONFIRMATION_STUCK';
        }
        // Retriable steps run after the pivot: there is no going back, only trying again. The
        // failure is logged with every ambiguity the step has had, a crashed attempt's included,
        // so a later run that gives the step up still compensates it.
        await this.backoff(lease, step.name, { ...attempt, ambiguous }, step.retry);
      } else if (saga.status === 'COMPENSATING') {
        const compensation = this.compensationPlan(saga)[saga.comp_cursor];
        if (!compensation) {
          await log.finish(lease, 'COMPENSATED');
          sagaMetrics.finished.inc({ status: 'COMPENSATED' });
          logger.info({ sagaId: saga.id, reason: saga.failure_reason }, 'saga compensated');
          return 'COMPENSATED';
        }
        const attempt = await this.attempt(
          lease,
          compensation.name,
          'compensation',
          compensation.call,
          compensation.retry,
          takeStarted(compensation.name),
          false,
        );
        if (attempt.outcome === 'ok') {
          const next = this.compensationPlan(saga)[saga.comp_cursor + 1];
          const startNext = next && !this.deps.stopping();
          if (startNext) this.deps.crash('before-log', next.name);
          const nextAttempt = await log.stepSucceeded(
            lease,
            compensation.name,
            {
              compCursor: saga.comp_cursor + 1,
              status: 'COMPENSATING',
              participantMs: attempt.participantMs,
            },
            startNext
              ? {
                  start: {
                    step: next.name,
                    kind: 'compensation',
                    deadlineMs: next.retry.deadlineMs,
                  },
                }
              : next
                ? {}
                : { finish: 'COMPENSATED' },
          );
          this.deps.crash('after-log', compensation.name);
          sagaMetrics.compensations.inc({ step: compensation.name });
          saga.comp_cursor += 1;
          if (!next) {
            sagaMetrics.finished.inc({ status: 'COMPENSATED' });
            logger.info({ sagaId: saga.id, reason: saga.failure_reason }, 'saga compensated');
            return 'COMPENSATED';
          }
          if (nextAttempt) started = { step: next.name, attempt: nextAttempt };
          continue;
        }
        // An unreachable database is not a compensation that fails: it is retried until the
        // database is back, however long that takes, and never shows as STUCK.
        if (!attempt.unavailable && attempt.attempts - attempt.budgetBase >= this.deps.stuckAfter) {
          await log.markStuck(lease, 'COMPENSATION_STUCK', compensation.name, attempt.error);
          sagaMetrics.finished.inc({ status: 'COMPENSATION_STUCK' });
          logger.error(
            { sagaId: saga.id, step: compensation.name, error: attempt.error },
            'compensation stuck: operator action needed',
          );
          return 'COMPENSATION_STUCK';
        }
        await this.backoff(lease, compensation.name, attempt, compensation.retry);
      } else {
        return saga.status;
      }
    }
  }

  /** Undo what may have happened, newest first: the completed compensatable steps before the failure, and the failed step itself when an attempt was ambiguous. */
  private compensationPlan(saga: SagaRow): Compensation[] {
    const failed = saga.failed_step ?? 0;
    const upTo = saga.compensate_failed ? failed + 1 : failed;
    const candidates = this.deps.definition.steps
      .slice(0, upTo)
      .filter((step) => step.compensation);
    const byName = new Map(candidates.map((step) => [step.name, step]));
    return this.deps.policy
      .compensationOrder(candidates.map((step) => step.name))
      .flatMap((name) => {
        const step = byName.get(name);
        if (!step?.compensation) return [];
        return [
          {
            name: step.compensation.name,
            call: step.compensation.call(saga.request, saga.id),
            retry: step.retry,
          },
        ];
      });
  }

  private async fail(
    saga: SagaRow,
    lease: Lease,
    failedStep: number,
    reason: string,
    ambiguous: boolean,
  ) {
    const step = this.deps.definition.steps[failedStep];
    await this.deps.log.beginCompensation(lease, step?.name ?? 'unknown', {
      failedStep,
      compensateFailed: ambiguous,
      reason,
    });
    this.deps.logger.info({ sagaId: saga.id, reason }, 'saga failed: compensating');
    saga.status = 'COMPENSATING';
    saga.failed_step = failedStep;
    saga.compensate_failed = ambiguous;
    saga.failure_reason = reason;
    saga.comp_cursor = 0;
  }

  private async attempt(
    lease: Lease,
    name: string,
    kind: 'action' | 'compensation',
    call: ParticipantCall,
    retry: StepRetrySettings,
    prestarted: StartedAttempt | undefined,
    // Whether the step's deadline bounds this attempt. Only a step that can still fail: past
    // its deadline it is compensated. Compensations and the retriable steps after the pivot
    // cannot give up, so each attempt gets the full timeout however late it comes; capped by
    // a deadline already past, they would never call the participant again.
    deadlineBound: boolean,
  ): Promise<Attempt> {
    const { log, client, policy, crash } = this.deps;
    let started = prestarted;
    if (!started) {
      crash('before-log', name);
      started = await log.startAttempt(lease, name, kind, retry.deadlineMs);
    }
    crash('before-call', name);
    const budget = deadlineBound
      ? Math.min(retry.timeoutMs, started.deadlineAt.getTime() - Date.now())
      : retry.timeoutMs;
    const stop = sagaMetrics.stepDuration.startTimer({ step: name });
    const answer = await tracer.startActiveSpan(`saga ${name}`, async (span) => {
      span.setAttributes({
        'saga.id': lease.sagaId,
        'saga.step': name,
        'saga.attempt': started.attempts,
      });
      const result =
        budget > 0
          ? await client.call(
              call,
              policy.idempotencyKey(lease.sagaId, name, started.attempts),
              budget,
            )
          : // No call at all: nothing reached the participant, so, like a refused
            // connection, this attempt leaves nothing there to undo.
            { error: DEADLINE_EXCEEDED, participantMs: 0, unreached: true };
      if (result.error) span.setStatus({ code: SpanStatusCode.ERROR, message: result.error });
      span.end();
      return result;
    });
    crash('after-call', name);
    const outcome = policy.classify(answer);
    const unavailable = outcome === 'transient' && participantUnavailable(answer);
    stop({ outcome: unavailable ? 'unavailable' : outcome });
    return {
      outcome,
      unavailable,
      // A request never written to a socket is the one transient failure known to have had no effect.
      ambiguous: outcome === 'transient' && answer.unreached !== true,
      error: answer.error ?? '',
      attempts: started.attempts,
      budgetBase: started.budgetBase,
      deadlineAt: started.deadlineAt,
      participantMs: answer.participantMs,
    };
  }

  private async backoff(lease: Lease, name: string, attempt: Attempt, retry: StepRetrySettings) {
    await this.deps.log.attemptFailed(lease, name, attempt.error, {
      ambiguous: attempt.ambiguous,
      uncounted: attempt.unavailable,
    });
    sagaMetrics.retries.inc({ step: name });
    // An uncounted attempt does not advance the counted ones, so its backoff grows with every
    // attempt instead: a participant waiting for its database is not called in a tight loop.
    const delay = this.deps.policy.backoffMs(
      attempt.unavailable ? attempt.attempts : attempt.attempts - attempt.budgetBase,
      retry,
      Math.random,
    );
    this.deps.logger.info(
      {
        sagaId: lease.sagaId,
        step: name,
        attempt: attempt.attempts,
        delay,
        error: attempt.error,
        unavailable: attempt.unavailable,
      },
      'step failed: retrying',
    );
    await sleep(delay);
  }
}
