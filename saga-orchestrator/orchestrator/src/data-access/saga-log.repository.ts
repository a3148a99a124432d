import type { Pool, PoolOptions } from '@lab/shared/pg';
import { sagaMetrics } from '../infrastructure/saga-metrics.ts';
import { GroupCommit } from './group-commit.ts';

export type SagaStatus =
  | 'PENDING'
  | 'CONFIRMING'
  | 'COMPLETED'
  | 'COMPENSATING'
  | 'COMPENSATED'
  | 'COMPENSATION_STUCK'
  | 'CONFIRMATION_STUCK';
/** Every state a saga can be in before it ends: the states the `sagas_unfinished` index holds. */
export type UnfinishedStatus = Exclude<SagaStatus, 'COMPLETED' | 'COMPENSATED'>;

export interface Lease {
  sagaId: string;
  owner: string;
  version: number;
}

export interface SagaRow {
  id: string;
  request: unknown;
  status: SagaStatus;
  cursor: number;
  failed_step: number | null;
  compensate_failed: boolean;
  failure_reason: string | null;
  comp_cursor: number;
  trace_context: Record<string, string>;
  deadline_at: Date;
  participant_ms: number;
  created_at: Date;
  finished_at: Date | null;
}

export interface StepRow {
  name: string;
  kind: 'action' | 'compensation';
  state: string;
  attempts: number;
  budget_base: number;
  ambiguous: boolean;
  started_at: Date;
  ended_at: Date | null;
  deadline_at: Date | null;
  last_error: string | null;
}

/**
 * A write waiting for its group commit: a step that succeeded (`step` and `move`) and what
 * comes next, or, with `step` null, only the start of an attempt.
 */
interface StepWrite {
  lease: Lease;
  step: string | null;
  move?: { cursor?: number; compCursor?: number; status: SagaStatus; participantMs: number };
  then: {
    start?: { step: string; kind: 'action' | 'compensation'; deadlineMs: number };
    finish?: 'COMPLETED' | 'COMPENSATED';
  };
}
type StepOutcome = StartedAttempt | undefined | 'lease-lost';

/** What `create` reads back: the saga that holds the key, and whether this call made it. */
interface CreatedRow {
  id: string;
  request_hash: string;
  created: boolean;
  deadline_at: Date;
  created_at: Date;
  /** The deadline of the first attempt the same write started; null when it started none. */
  first_step_deadline_at: Date | null;
}

/** Thrown when a fenced write matches no row: another instance owns this saga now. */
export class LeaseLostError extends Error {
  constructor(lease: Lease) {
    super(`lease on saga ${lease.sagaId} (version ${lease.version}) was lost`);
    this.name = 'LeaseLostError';
  }
}

// Every write below carries this WHERE (the group commit's, one row at a time, its own form of
// it): the fence that stops a stale instance.
const FENCE = 'id = $1 AND lease_owner = $2 AND lease_version = $3';

/** What an attempt logged before its call: its number, its budget and the step's deadline. */
export interface StartedAttempt {
  attempts: number;
  budgetBase: number;
  deadlineAt: Date;
}

/** A saga this instance just created, and the first attempt its creation logged as started. */
export interface FreshSaga {
  saga: SagaRow;
  started?: { step: string; attempt: StartedAttempt };
}

/**
 * The group commit's statement: a batch of step writes as parallel arrays ($1..$12, one element
 * per write) and the lease's length ($13); a finished saga's lease ends with it, as in `finish`.
 * Exported so the bench can ask PostgreSQL what planning and running it cost; this pool pays
 * the planning on every write (`SAGA_LOG_POOL`).
 */
export const STEP_WRITES = `WITH b AS (
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::int[],
                       $6::int[], $7::text[], $8::float8[], $9::boolean[], $10::text[],
                       $11::text[], $12::float8[])
    AS b(id, owner, version, step, cursor, comp_cursor, status, participant_ms, finished,
         next_step, next_kind, next_deadline_ms)),
s AS (
  UPDATE sagas SET cursor = coalesce(b.cursor, sagas.cursor),
         comp_cursor = coalesce(b.comp_cursor, sagas.comp_cursor),
         status = coalesce(b.status, sagas.status),
         participant_ms = sagas.participant_ms + b.participant_ms,
         updated_at = now(), finished_at = CASE WHEN b.finished THEN now() END,
         lease_expires_at =
           now() + $13 * interval '1 millisecond' * CASE WHEN b.finished THEN -1 ELSE 1 END
    FROM b
   WHERE sagas.id = b.id AND sagas.lease_owner = b.owner AND sagas.lease_version = b.version
   RETURNING sagas.id, b.step, b.next_step, b.next_kind, b.next_deadline_ms),
done AS (
  UPDATE saga_steps SET state = 'SUCCEEDED', ended_at = now()
    FROM s WHERE saga_steps.saga_id = s.id AND saga_steps.name = s.step),
started AS (
  INSERT INTO saga_steps (saga_id, name, kind, state, attempts, deadline_at)
  SELECT s.id, s.next_step, s.next_kind, 'RUNNING', 1,
         now() + s.next_deadline_ms * interval '1 millisecond'
    FROM s WHERE s.next_step IS NOT NULL
  ON CONFLICT (saga_id, name) DO UPDATE
     SET attempts = saga_steps.attempts + 1, state = 'RUNNING'
  RETURNING saga_id, attempts, budget_base, deadline_at)
SELECT s.id, started.attempts, started.budget_base, started.deadline_at
  FROM s LEFT JOIN started ON started.saga_id = s.id`;

/**
 * How the saga log's pool connects. The log starts empty and only grows, and the step write
 * (`STEP_WRITES`) joins its batch to `sagas` by id: with the generic plan a connection settles
 * on while the log is a few rows, every step write would read the whole table, a little longer
 * on each trip (`planEachExecution` in @lab/shared/pg).
 */
export const SAGA_LOG_POOL: PoolOptions = { planEachExecution: true };

export class SagaLog {
  private readonly pool: Pool;
  private readonly leaseTtlMs: number;

  constructor(pool: Pool, leaseTtlMs: number) {
    this.pool = pool;
    this.leaseTtlMs = leaseTtlMs;
  }

  /**
   * Runs a fenced write: $1-$3 are the lease, $4 the lease extension, then `params`. `name`
   * makes it a prepared statement: each pooled connection has PostgreSQL parse it once, not on
   * every step of every saga (and plan it on each, with `SAGA_LOG_POOL`).
   */
  private async fenced(name: string, lease: Lease, sql: string, params: unknown[] = []) {
    const fence = [lease.sagaId, lease.owner, lease.version, this.leaseTtlMs];
    const result = await this.pool.query({ name, text: sql, values: [...fence, ...params] });
    if (result.rowCount === 0) throw new LeaseLostError(lease);
    return result.rows as Record<string, unknown>[];
  }

  /**
   * Creates the saga; with `owner` it is born leased so this instance can start it at once,
   * and with `start` the same write logs its first attempt as started, the write that step
   * would otherwise make on its own before its call: one saga-log write per step, the first
   * step's being the saga's creation.
   */
  async create(input: {
    id: string;
    idempotencyKey: string | undefined;
    requestHash: string;
    request: unknown;
    traceContext: Record<string, string>;
    deadlineMs: number;
    owner: string | undefined;
    start?: { step: string; deadlineMs: number };
  }): Promise<{
    id: string;
    created: boolean;
    requestHash: string;
    lease?: Lease;
    /** The row just written, when created: its first run needs not read it back. */
    fresh?: FreshSaga;
  }> {
    const start = input.owner === undefined ? undefined : input.start;
    const { rows } = await this.pool.query<CreatedRow>({
      // Parsed once per connection, like the fenced writes: one of these per trip.
      name: 'saga-log-create',
      text: `WITH inserted AS (
         INSERT INTO sagas (id, idempotency_key, request_hash, request, status, trace_context,
                            deadline_at, lease_owner, lease_version, lease_expires_at)
         VALUES ($1, $2, $3, $4, 'PENDING', $5, now() + $6 * interval '1 millisecond', $7::text,
                 CASE WHEN $7::text IS NULL THEN 0 ELSE 1 END,
                 CASE WHEN $7::text IS NULL THEN NULL
                      ELSE now() + $8 * interval '1 millisecond' END)
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING id, request_hash, deadline_at, created_at),
       started AS (
         INSERT INTO saga_steps (saga_id, name, kind, state, attempts, deadline_at)
         SELECT id, $9::text, 'action', 'RUNNING', 1, now() + $10 * interval '1 millisecond'
           FROM inserted WHERE $9::text IS NOT NULL
         RETURNING deadline_at)
       SELECT id, request_hash, true AS created, deadline_at, created_at,
              (SELECT deadline_at FROM started) AS first_step_deadline_at
         FROM inserted
       UNION ALL
       SELECT id, request_hash, false, deadline_at, created_at, NULL FROM sagas
        WHERE idempotency_key = $2 AND NOT EXISTS (SELECT 1 FROM inserted)`,
      values: [
        input.id,
        input.idempotencyKey ?? null,
        input.requestHash,
        JSON.stringify(input.request),
        JSON.stringify(input.traceContext),
        input.deadlineMs,
        input.owner ?? null,
        this.leaseTtlMs,
        start?.step ?? null,
        start?.deadlineMs ?? null,
      ],
    });
    // No row: a concurrent POST with the same Idempotency-Key inserted first. ON CONFLICT waited
    // for it to commit, but this statement's snapshot predates that commit, so its SELECT arm
    // cannot see the row; a second statement takes a new snapshot that does.
    const row = rows[0] ?? (await this.findByIdempotencyKey(input.idempotencyKey));
    if (!row) throw new Error('saga insert returned nothing');
    const lease =
      row.created && input.owner ? { sagaId: row.id, owner: input.owner, version: 1 } : undefined;
    const saga: SagaRow | undefined = row.created
      ? {
          id: row.id,
          request: input.request,
          status: 'PENDING',
          cursor: 0,
          failed_step: null,
          compensate_failed: false,
          failure_reason: null,
          comp_cursor: 0,
          trace_context: input.traceContext,
          deadline_at: row.deadline_at,
          participant_ms: 0,
          created_at: row.created_at,
          finished_at: null,
        }
      : undefined;
    const started =
      start && row.first_step_deadline_at
        ? {
            step: start.step,
            attempt: { attempts: 1, budgetBase: 0, deadlineAt: row.first_step_deadline_at },
          }
        : undefined;
    return {
      id: row.id,
      created: row.created,
      requestHash: row.request_hash,
      lease,
      ...(saga && { fresh: { saga, ...(started && { started }) } }),
    };
  }

  private async findByIdempotencyKey(key: string | undefined) {
    if (key === undefined) return undefined;
    const { rows } = await this.pool.query<CreatedRow>(
      `SELECT id, request_hash, false AS created, deadline_at, created_at,
              NULL::timestamptz AS first_step_deadline_at
         FROM sagas WHERE idempotency_key = $1`,
      [key],
    );
    return rows[0];
  }

  /**
   * Takes one unfinished saga for `owner` when nobody else holds it: unleased, its lease run
   * out, or leased to `owner` itself (a run this instance accepted but never started). A new
   * lease version fences out any stale run, as a claim does. Undefined when another live
   * instance holds it or it is finished.
   */
  async adopt(id: string, owner: string): Promise<Lease | undefined> {
    const { rows } = await this.pool.query<{ lease_version: number }>(
      `UPDATE sagas
          SET lease_owner = $2, lease_version = lease_version + 1,
              lease_expires_at = now() + $3 * interval '1 millisecond', updated_at = now()
        WHERE id = $1
          AND status IN ('PENDING', 'CONFIRMING', 'COMPENSATING')
          AND (lease_owner = $2 OR lease_expires_at IS NULL OR lease_expires_at < now())
        RETURNING lease_version`,
      [id, owner, this.leaseTtlMs],
    );
    const row = rows[0];
    return row ? { sagaId: id, owner, version: row.lease_version } : undefined;
  }

  /**
   * Claims unleased or expired sagas, except `skip` (sagas this instance is still driving).
   * SKIP LOCKED lets instances claim side by side without
   * waiting on each other's rows; without it two instances would queue on the same rows and
   * then both believe they own them. Oldest first: `next_attempt_at` is when the saga became
   * claimable (accepted, or handed back by an operator); the backoff between attempts is a
   * sleep in the process that holds the lease, so it is never later than now.
   */
  async claim(owner: string, limit: number, skip: readonly string[] = []): Promise<Lease[]> {
    const { rows } = await this.pool.query<{ id: string; lease_version: number }>(
      `UPDATE sagas s
          SET lease_owner = $1, lease_version = s.lease_version + 1,
              lease_expires_at = now() + $2 * interval '1 millisecond', updated_at = now()
         FROM (SELECT id FROM sagas
                WHERE status IN ('PENDING', 'CONFIRMING', 'COMPENSATING')
                  AND (lease_expires_at IS NULL OR lease_expires_at < now())
                  AND NOT (id = ANY ($4::uuid[]))
                ORDER BY next_attempt_at
                LIMIT $3
                FOR UPDATE SKIP LOCKED) claimable
        WHERE s.id = claimable.id
        RETURNING s.id, s.lease_version`,
      [owner, this.leaseTtlMs, limit, skip],
    );
    return rows.map((row) => ({ sagaId: row.id, owner, version: row.lease_version }));
  }

  /** A restarted instance's previous incarnation is dead: its leases need not run out first. */
  async releaseLeasesOf(owner: string): Promise<number> {
    const result = await this.pool.query(
      `UPDATE sagas SET lease_expires_at = NULL
        WHERE lease_owner = $1 AND status IN ('PENDING', 'CONFIRMING', 'COMPENSATING')`,
      [owner],
    );
    return result.rowCount ?? 0;
  }

  async load(id: string): Promise<{ saga: SagaRow; steps: StepRow[] } | undefined> {
    const sagas = await this.pool.query<SagaRow>('SELECT * FROM sagas WHERE id = $1', [id]);
    const saga = sagas.rows[0];
    if (!saga) return undefined;
    const steps = await this.pool.query<StepRow>(
      'SELECT * FROM saga_steps WHERE saga_id = $1 ORDER BY seq',
      [id],
    );
    return { saga, steps: steps.rows };
  }

  /** The saga's status alone, for an answer that needs no timeline. */
  async status(id: string): Promise<SagaStatus | undefined> {
    const { rows } = await this.pool.query<{ status: SagaStatus }>({
      name: 'saga-log-status',
      text: 'SELECT status FROM sagas WHERE id = $1',
      values: [id],
    });
    return rows[0]?.status;
  }

  /** Logged before the call: a crash after this line leaves a RUNNING step to retry. */
  async startAttempt(
    lease: Lease,
    step: string,
    kind: 'action' | 'compensation',
    deadlineMs: number,
  ): Promise<StartedAttempt> {
    // Through the same group commit as the step writes: a retry, or the first attempt of a
    // saga this instance did not create, would otherwise be a round trip of its own.
    const outcome = await this.writeStep({
      lease,
      step: null,
      then: { start: { step, kind, deadlineMs } },
    });
    if (outcome === 'lease-lost') throw new LeaseLostError(lease);
    if (!outcome) throw new Error(`the start of ${step} was not logged`);
    return outcome;
  }

  /**
   * An `uncounted` attempt (the participant's database was unreachable) moves `budget_base` up
   * with `attempts`, so `attempts - budget_base`, the count the retry limit and the STUCK
   * threshold compare against, stays where it was.
   */
  async attemptFailed(
    lease: Lease,
    step: string,
    error: string,
    how: { ambiguous: boolean; uncounted: boolean },
  ) {
    await this.fenced(
      'saga-log-attempt-failed',
      lease,
      `WITH s AS (
         UPDATE sagas SET lease_expires_at = now() + $4 * interval '1 millisecond', updated_at = now()
          WHERE ${FENCE} RETURNING id)
       UPDATE saga_steps SET state = 'RETRYING', last_error = $6, ambiguous = ambiguous OR $7,
              budget_base = budget_base + CASE WHEN $8 THEN 1 ELSE 0 END
         FROM s WHERE saga_steps.saga_id = s.id AND saga_steps.name = $5
       RETURNING 1`,
      [step, error, how.ambiguous, how.uncounted],
    );
  }

  /**
   * Step done and cursor moved in one statement: the log never shows one without the other.
   * The same statement logs what comes next, so each step costs one write to the log: either
   * the start of the next attempt (as `startAttempt` would, returning its budget), or the end
   * of the saga when this was its last step.
   */
  async stepSucceeded(
    lease: Lease,
    step: string,
    move: { cursor?: number; compCursor?: number; status: SagaStatus; participantMs: number },
    then: {
      start?: { step: string; kind: 'action' | 'compensation'; deadlineMs: number };
      finish?: 'COMPLETED' | 'COMPENSATED';
    } = {},
  ): Promise<StartedAttempt | undefined> {
    const outcome = await this.writeStep({ lease, step, move, then });
    if (outcome === 'lease-lost') throw new LeaseLostError(lease);
    return outcome;
  }

  /** A step write through group commit, timed once it committed (a failed one is not a wait). */
  private async writeStep(write: StepWrite): Promise<StepOutcome> {
    const stop = sagaMetrics.logWriteDuration.startTimer();
    const outcome = await this.stepWrites.add(write);
    stop();
    return outcome;
  }

  /**
   * The most frequent writes, a step's success with the start of the next attempt and an
   * attempt's start on its own, go through group commit: the batch's rows are unnested and each
   * saga's fence is checked on its own row, so one saga whose lease was lost changes nothing
   * for the others.
   */
  private readonly stepWrites = new GroupCommit<StepWrite, StepOutcome>(async (items) => {
    const column = <T>(pick: (item: StepWrite) => T) => items.map(pick);
    const { rows } = await this.pool.query<{
      id: string;
      attempts: number | null;
      budget_base: number | null;
      deadline_at: Date | null;
    }>({
      name: 'saga-log-step-writes',
      text: STEP_WRITES,
      values: [
        column((i) => i.lease.sagaId),
        column((i) => i.lease.owner),
        column((i) => i.lease.version),
        column((i) => i.step),
        column((i) => i.move?.cursor ?? null),
        column((i) => i.move?.compCursor ?? null),
        column((i) => i.then.finish ?? i.move?.status ?? null),
        column((i) => i.move?.participantMs ?? 0),
        column((i) => i.then.finish !== undefined),
        column((i) => i.then.start?.step ?? null),
        column((i) => i.then.start?.kind ?? null),
        column((i) => i.then.start?.deadlineMs ?? null),
        this.leaseTtlMs,
      ],
    });
    sagaMetrics.groupCommitSize.observe(items.length);
    const written = new Map(rows.map((row) => [row.id, row]));
    return items.map((item): StepOutcome => {
      const row = written.get(item.lease.sagaId);
      if (!row) return 'lease-lost';
      // No next attempt was started (the last step, or a saga that is finishing).
      if (row.attempts === null || row.budget_base === null || row.deadline_at === null)
        return undefined;
      return { attempts: row.attempts, budgetBase: row.budget_base, deadlineAt: row.deadline_at };
    });
  });

  /** The forward path ends here; from now on the saga only compensates. */
  async beginCompensation(
    lease: Lease,
    step: string,
    failure: { failedStep: number; compensateFailed: boolean; reason: string },
  ) {
    await this.fenced(
      'saga-log-begin-compensation',
      lease,
      `WITH s AS (
         UPDATE sagas SET status = 'COMPENSATING', failed_step = $6, compensate_failed = $7,
                failure_reason = $8, comp_cursor = 0, updated_at = now(),
                lease_expires_at = now() + $4 * interval '1 millisecond'
          WHERE ${FENCE} RETURNING id)
       INSERT INTO saga_steps (saga_id, name, kind, state, ended_at, last_error)
       SELECT s.id, $5, 'action', 'FAILED', now(), $8 FROM s
       ON CONFLICT (saga_id, name) DO UPDATE
          SET state = 'FAILED', ended_at = now(), last_error = EXCLUDED.last_error
       RETURNING 1`,
      [step, failure.failedStep, failure.compensateFailed, failure.reason],
    );
  }

  /**
   * A stuck saga waits, visibly, for an operator, and no claim takes it meanwhile:
   * COMPENSATION_STUCK for a compensation that keeps failing (compensations are never dropped),
   * CONFIRMATION_STUCK for a step after the pivot that the participant refused, whose refusal
   * becomes the trip's failure reason.
   */
  async markStuck(
    lease: Lease,
    status: 'COMPENSATION_STUCK' | 'CONFIRMATION_STUCK',
    step: string,
    error: string,
  ) {
    await this.fenced(
      'saga-log-mark-stuck',
      lease,
      `WITH s AS (
         UPDATE sagas SET status = $7::text, updated_at = now(),
                failure_reason = CASE WHEN $7::text = 'CONFIRMATION_STUCK'
                                      THEN $5::text || ': ' || $6::text ELSE failure_reason END,
                lease_expires_at = now() - $4 * interval '1 millisecond'
          WHERE ${FENCE} RETURNING id)
       UPDATE saga_steps SET state = 'STUCK', last_error = $6
         FROM s WHERE saga_steps.saga_id = s.id AND saga_steps.name = $5
       RETURNING 1`,
      [step, error, status],
    );
  }

  async finish(lease: Lease, status: 'COMPLETED' | 'COMPENSATED') {
    await this.fenced(
      'saga-log-finish',
      lease,
      `UPDATE sagas SET status = $5, finished_at = now(), updated_at = now(),
              lease_expires_at = now() - $4 * interval '1 millisecond'
        WHERE ${FENCE}`,
      [status],
    );
  }

  /** Hands the saga back to the claim loop, e.g. when this instance shuts down. */
  async release(lease: Lease) {
    await this.pool.query(`UPDATE sagas SET lease_expires_at = NULL WHERE ${FENCE}`, [
      lease.sagaId,
      lease.owner,
      lease.version,
    ]);
  }

  /** The operator's retry: a fresh attempt budget for the stuck compensation. */
  async retryStuck(id: string): Promise<boolean> {
    const result = await this.pool.query(
      `WITH s AS (
         UPDATE sagas SET status = 'COMPENSATING', lease_expires_at = NULL,
                next_attempt_at = now(), updated_at = now()
          WHERE id = $1 AND status = 'COMPENSATION_STUCK' RETURNING id)
       UPDATE saga_steps SET state = 'RETRYING', budget_base = attempts
         FROM s WHERE saga_steps.saga_id = s.id AND saga_steps.state = 'STUCK'
       RETURNING 1`,
      [id],
    );
    return (result.rowCount ?? 0) > 0;
  }

  /**
   * The operator's way back from CONFIRMATION_STUCK: after the pivot only a person may decide
   * to undo a paid trip. The refused step becomes the failed one, so the compensation plan is
   * every compensatable step before it, the charge's refund first; confirmations that already
   * succeeded are undone by their reservation's cancel.
   */
  async compensateStuck(id: string): Promise<boolean> {
    const result = await this.pool.query(
      `WITH s AS (
         UPDATE sagas SET status = 'COMPENSATING', failed_step = cursor, compensate_failed = false,
                comp_cursor = 0, failure_reason = failure_reason || ' (compensated by an operator)',
                lease_expires_at = NULL, next_attempt_at = now(), updated_at = now()
          WHERE id = $1 AND status = 'CONFIRMATION_STUCK' RETURNING id)
       UPDATE saga_steps SET state = 'FAILED', ended_at = now()
         FROM s WHERE saga_steps.saga_id = s.id AND saga_steps.state = 'STUCK'
       RETURNING 1`,
      [id],
    );
    return (result.rowCount ?? 0) > 0;
  }

  /**
   * The sagas not finished yet, by state, every state present (0 when none). Finished sagas are
   * left out: the log keeps all of them, so counting those would read a table that only grows,
   * while the unfinished ones are found through their own small index.
   */
  async countUnfinished(): Promise<Record<UnfinishedStatus, number>> {
    const { rows } = await this.pool.query<{ status: UnfinishedStatus; n: number }>(
      // The list is the index's predicate word for word, so the planner can prove it may use it.
      `SELECT status, count(*)::int AS n FROM sagas
        WHERE status IN
          ('PENDING', 'CONFIRMING', 'COMPENSATING', 'COMPENSATION_STUCK', 'CONFIRMATION_STUCK')
        GROUP BY status`,
    );
    const counts: Record<UnfinishedStatus, number> = {
      PENDING: 0,
      CONFIRMING: 0,
      COMPENSATING: 0,
      COMPENSATION_STUCK: 0,
      CONFIRMATION_STUCK: 0,
    };
    for (const row of rows) counts[row.status] = row.n;
    return counts;
  }
}
