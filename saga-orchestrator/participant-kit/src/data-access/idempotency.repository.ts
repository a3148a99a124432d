import { createHash } from 'node:crypto';
import { AppError, isDependencyUnavailable } from '@lab/shared/http';
import type { Pool, PoolClient } from '@lab/shared/pg';

export interface Outcome {
  status: number;
  body: Record<string, unknown>;
}

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
 * then replays the stored answer. Business rejections (4xx) are answers too: replaying a
 * "sold out" keeps a retry from succeeding on inventory freed in the meantime.
 */
export async function idempotent(
  pool: Pool,
  key: string,
  hash: string,
  work: (client: PoolClient) => Promise<Outcome>,
): Promise<Outcome & { replayed: boolean }> {
  const client = await pool.connect();
  // Set when the connection itself broke (the database restarted mid-transaction): such a
  // client is destroyed, not pooled. The caller gets a 503 and retries with the same key; the
  // key row, the effect and the answer committed together or not at all, so the retry either
  // replays the answer or does the work for the first time.
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const inserted = await client.query(
      `INSERT INTO idempotency_keys (key, request_hash) VALUES ($1, $2)
       ON CONFLICT (key) DO NOTHING`,
      [key, hash],
    );
    if (inserted.rowCount === 0) {
      const { rows } = await client.query<{
        request_hash: string;
        status_code: number | null;
        response: Record<string, unknown> | null;
      }>('SELECT request_hash, status_code, response FROM idempotency_keys WHERE key = $1', [key]);
      await client.query('COMMIT');
      const stored = rows[0];
      if (stored?.request_hash !== hash)
        throw new AppError(
          'idempotency-key-reused',
          422,
          'This Idempotency-Key was already used for a different request.',
        );
      return replay(stored.status_code ?? 500, stored.response ?? {});
    }
    await client.query('SAVEPOINT work');
    let outcome: Outcome;
    try {
      outcome = await work(client);
    } catch (error) {
      if (!(error instanceof AppError) || error.httpStatus >= 500) throw error;
      await client.query('ROLLBACK TO SAVEPOINT work');
      const stored: StoredProblem = { problem: { code: error.code, detail: error.message } };
      await saveAnswer(client, key, error.httpStatus, stored);
      await client.query('COMMIT');
      throw error;
    }
    await saveAnswer(client, key, outcome.status, outcome.body);
    await client.query('COMMIT');
    return { ...outcome, replayed: false };
  } catch (error) {
    if (isDependencyUnavailable(error)) broken = error as Error;
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken ??= rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
  }
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
