import { createHash } from 'node:crypto';
import { AppError } from '@lab/shared/errors';
import { withTransaction, type Pool, type PoolClient } from '@lab/shared/pg';

export interface Outcome {
  status: number;
  body: Record<string, unknown>;
}

interface StoredKey {
  request_hash: string;
  status_code: number | null;
  response: Record<string, unknown> | null;
}

/** What one transaction under a key found: the work done, a rejection stored, or the key seen before. */
type Attempt =
  | { kind: 'done'; outcome: Outcome }
  | { kind: 'rejected'; error: AppError }
  | { kind: 'seen'; stored: StoredKey | undefined };

interface StoredProblem {
  problem: { code: string; detail: string };
}

export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path}\n${JSON.stringify(body ?? null)}`)
    .digest('hex');
}

/**
 * Runs `work` at most once per idempotency key. The key row is inserted in the same
 * transaction as the effect and the answer, so a crash leaves either all three or none; a
 * duplicate that arrives while the first is still running blocks on the key's row lock and
 * then replays the stored answer. A connection that breaks mid-transaction (the database
 * restarted) is destroyed by `withTransaction`, not pooled; the caller gets a 503 and retries
 * with the same key, which then either replays the answer or does the work for the first time.
 *
 * Business rejections (4xx) are answers too, stored and replayed like a success. The CQRS
 * command service does the opposite (it rolls a rejected key back, so the client's retry may
 * succeed once the state allows it), and the difference is on purpose. There the client reads
 * the rejection and decides what to do next; nothing else has acted on it. Here the caller is
 * the saga orchestrator, and a "no" is what it compensates on: it logs the rejection and undoes
 * the earlier steps. If a duplicate of the same step (a retry whose first answer was lost, a
 * request still in flight) could turn "sold out" into a hold because a unit was freed
 * meanwhile, the participant would keep a unit for a saga that is already being undone, an
 * effect no compensation covers. One key, one answer, for ever.
 */
export async function idempotent(
  pool: Pool,
  key: string,
  hash: string,
  work: (client: PoolClient) => Promise<Outcome>,
): Promise<Outcome & { replayed: boolean }> {
  const result = await withTransaction(pool, async (client): Promise<Attempt> => {
    const inserted = await client.query(
      `INSERT INTO idempotency_keys (key, request_hash) VALUES ($1, $2)
       ON CONFLICT (key) DO NOTHING`,
      [key, hash],
    );
    if (inserted.rowCount === 0) {
      const { rows } = await client.query<StoredKey>(
        'SELECT request_hash, status_code, response FROM idempotency_keys WHERE key = $1',
        [key],
      );
      return { kind: 'seen', stored: rows[0] };
    }
    // The savepoint protects the key row: a rejected `work` may have written part of its
    // effect before it said no, and rolling back to here undoes exactly that, keeping the key
    // row so the rejection can be stored under it and committed.
    await client.query('SAVEPOINT work');
    try {
      const outcome = await work(client);
      await saveAnswer(client, key, outcome.status, outcome.body);
      return { kind: 'done', outcome };
    } catch (error) {
      if (!(error instanceof AppError) || error.httpStatus >= 500) throw error;
      await client.query('ROLLBACK TO SAVEPOINT work');
      const stored: StoredProblem = { problem: { code: error.code, detail: error.message } };
      await saveAnswer(client, key, error.httpStatus, stored);
      return { kind: 'rejected', error };
    }
  });
  if (result.kind === 'rejected') throw result.error;
  if (result.kind === 'done') return { ...result.outcome, replayed: false };
  const { stored } = result;
  if (stored?.request_hash !== hash)
    throw new AppError(
      'idempotency-key-reused',
      422,
      'This Idempotency-Key was already used for a different request.',
    );
  return replay(stored.status_code ?? 500, stored.response ?? {});
}

async function saveAnswer(client: PoolClient, key: string, status: number, body: object) {
  await client.query('UPDATE idempotency_keys SET status_code = $2, response = $3 WHERE key = $1', [
    key,
    status,
    JSON.stringify(body),
  ]);
}

function replay(status: number, body: Record<string, unknown>): Outcome & { replayed: boolean } {
  const problem = (body as Partial<StoredProblem>).problem;
  if (status >= 400 && problem)
    throw new AppError(problem.code, status, problem.detail, { extensions: { replayed: true } });
  return { status, body, replayed: true };
}
