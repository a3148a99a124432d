import type { Logger } from '@lab/shared/logging';
import type { GatewayConfig, Protection } from '../config.ts';
import {
  SupplierFailure,
  type Dependency,
  type SupplierAnswer,
  type SupplierClient,
} from '../data-access/supplier.client.ts';
import { gatewayMetrics } from '../infrastructure/gateway-metrics.ts';
import type { Policies } from './policies.ts';
import { createBreaker } from './protections/breaker.ts';
import { isBulkheadFull } from './protections/bulkhead.ts';
import type { RetryBudget } from './protections/retry-budget.ts';
import { withRetries } from './protections/retry.ts';
import { startAttemptTimeout } from './protections/timeout.ts';

export interface CallContext {
  requestId: string;
  /** Aborted when the gateway's own caller hangs up: ends a bulkhead wait, a backoff, retrying. */
  callerSignal: AbortSignal;
}

interface Deps {
  name: Dependency;
  client: SupplierClient;
  config: GatewayConfig;
  policies: Policies;
  budget: RetryBudget;
  logger: Logger;
}

/**
 * Every call to one supplier route goes through the same layers, outermost first:
 * bulkhead (a slot for this dependency) → retries (budgeted, jittered) → breaker (fail fast
 * when the supplier is sick) → timeout (this attempt's own deadline, which aborts its request).
 * Each layer can be switched off to show what it prevents.
 */
export function createSupplierDependency({ name, client, config, policies, budget, logger }: Deps) {
  const on = (p: Protection) => config.PROTECTIONS.has(p);
  const attemptTimeoutMs = on('timeout') ? config.TIMEOUT_MS : 0;
  let inFlight = 0;

  async function attemptOnce(path: string, ctx: CallContext, attempt: number) {
    // The attempt's own deadline only: a caller who leaves does not cut it (see timeout.ts).
    const timeout = startAttemptTimeout(on('timeout') ? config.TIMEOUT_MS : undefined);
    inFlight += 1;
    gatewayMetrics.inFlight.set({ dependency: name }, inFlight);
    let outcome = 'ok';
    try {
      const answer: SupplierAnswer = await client.get(path, {
        signal: timeout.signal,
        headers: { 'x-request-id': ctx.requestId, 'x-attempt': String(attempt) },
      });
      // 4xx are failures too, so the retry policy decides about them; the breaker counts them as
      // successes (its error filter): the supplier answered, it is not down.
      if (answer.status >= 400) {
        outcome = String(answer.status);
        throw new SupplierFailure('http', `The supplier answered ${answer.status}.`, {
          status: answer.status,
          ...(answer.retryAfterMs !== undefined && { retryAfterMs: answer.retryAfterMs }),
        });
      }
      return answer;
    } catch (error) {
      if (error instanceof SupplierFailure) throw error;
      if (timeout.timedOut()) {
        outcome = 'timeout';
        throw new SupplierFailure('timeout', `No answer within ${config.TIMEOUT_MS} ms.`, {
          cause: error,
        });
      }
      outcome = 'connection';
      throw new SupplierFailure('connection', (error as Error).message, { cause: error });
    } finally {
      timeout.clear();
      inFlight -= 1;
      gatewayMetrics.inFlight.set({ dependency: name }, inFlight);
      gatewayMetrics.attempts.inc({ dependency: name, outcome });
    }
  }

  const breaker = on('breaker')
    ? createBreaker(
        name,
        attemptOnce,
        {
          errorThresholdPercentage: config.BREAKER_ERROR_THRESHOLD_PERCENTAGE,
          volumeThreshold: config.BREAKER_VOLUME_THRESHOLD,
          rollingCountTimeout: config.BREAKER_ROLLING_COUNT_TIMEOUT_MS,
          rollingCountBuckets: config.BREAKER_ROLLING_COUNT_BUCKETS,
          resetTimeout: config.BREAKER_RESET_TIMEOUT_MS,
        },
        logger,
      )
    : undefined;
  const guarded = (path: string, ctx: CallContext, attempt: number) =>
    breaker ? breaker.fire(path, ctx, attempt) : attemptOnce(path, ctx, attempt);

  const retried = (path: string, ctx: CallContext, deadlineAt: number) =>
    on('retry')
      ? withRetries((attempt) => guarded(path, ctx, attempt), {
          maxAttempts: config.RETRY_MAX_ATTEMPTS,
          baseMs: config.RETRY_BASE_DELAY_MS,
          capMs: config.RETRY_MAX_DELAY_MS,
          retryAfterMaxMs: config.RETRY_AFTER_MAX_MS,
          deadlineAt,
          attemptTimeoutMs,
          budget,
          backoff: policies.backoffDelay,
          isRetryable: policies.isRetryable,
          signal: ctx.callerSignal,
          onDecision: (decision) => {
            gatewayMetrics.retries.inc({ dependency: name, decision: decision.decision });
            logger.info(
              { dependency: name, requestId: ctx.requestId, ...decision },
              'retry decision',
            );
          },
        })
      : guarded(path, ctx, 1);

  const bulkhead = on('bulkhead')
    ? policies.createBulkhead(name, {
        maxConcurrent: config.BULKHEAD_MAX_CONCURRENT,
        maxQueue: config.BULKHEAD_MAX_QUEUE,
      })
    : undefined;

  async function call(path: string, ctx: CallContext): Promise<SupplierAnswer> {
    // The deadline runs from the call's arrival: time spent queued at the bulkhead is time the
    // caller has already waited, so it leaves less for the attempts and their retries.
    const deadlineAt = Date.now() + config.REQUEST_DEADLINE_MS;
    if (!bulkhead) return retried(path, ctx, deadlineAt);
    const queue = queueWait(ctx.callerSignal, deadlineAt - attemptTimeoutMs);
    let release: () => void;
    try {
      release = await bulkhead.acquire(queue.signal);
    } catch (error) {
      // A caller who left the queue was not turned away for want of a slot: counting it as
      // overflow would show a bulkhead too small when its callers were only impatient.
      if (ctx.callerSignal.aborted)
        throw new SupplierFailure('caller-gone', 'The caller left the bulkhead queue.', {
          cause: error,
        });
      // A full queue, or a wait that outlasted the time left for one attempt: either way no
      // slot was free while this caller could still use one, which is what overflow means.
      if (isBulkheadFull(error))
        gatewayMetrics.rejections.inc({ dependency: name, reason: 'bulkhead-full' });
      throw error;
    } finally {
      queue.clear();
    }
    try {
      return await retried(path, ctx, deadlineAt);
    } finally {
      release();
    }
  }

  return {
    name,
    call,
    breaker,
    inFlight: () => inFlight,
    bulkhead: () =>
      bulkhead && {
        active: bulkhead.active,
        queued: bulkhead.queued,
        maxConcurrent: config.BULKHEAD_MAX_CONCURRENT,
        maxQueue: config.BULKHEAD_MAX_QUEUE,
      },
  };
}

export type SupplierDependency = ReturnType<typeof createSupplierDependency>;

/**
 * The signal a caller waits in the bulkhead queue under: aborted when the caller hangs up, or at
 * `leaveAt` (ms since epoch), the last moment a slot still leaves time for one attempt within
 * the deadline. Clear it once the wait is over, so its timer does not outlive the wait.
 */
function queueWait(callerSignal: AbortSignal, leaveAt: number) {
  const wait = new AbortController();
  const leave = () => {
    wait.abort();
  };
  // Never aborted synchronously, even for a caller already gone: a bulkhead that listens for
  // 'abort' only hears one that comes after it queued the caller.
  const timer = setTimeout(leave, callerSignal.aborted ? 0 : Math.max(0, leaveAt - Date.now()));
  callerSignal.addEventListener('abort', leave, { once: true });
  return {
    signal: wait.signal,
    clear: () => {
      clearTimeout(timer);
      callerSignal.removeEventListener('abort', leave);
    },
  };
}
