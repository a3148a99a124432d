import { createHash } from 'node:crypto';
import { AppError } from '@lab/shared/errors';
import type { Pool } from '@lab/shared/pg';

export interface Outcome {
  status: number;
  body: Record<string, unknown>;
}

/** The caller's Idempotency-Key and the hash of the request it came with. */
export interface Keyed {
  key: string;
  hash: string;
}

/** The `participant_answer` every stored use case returns (migrations/002). */
interface StoredAnswer {
  request_hash: string;
  status_code: number;
  response: Record<string, unknown>;
  replayed: boolean;
}

interface StoredProblem {
  problem: { code: string; detail: string } & Record<string, unknown>;
}

export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path}\n${JSON.stringify(body ?? null)}`)
    .digest('hex');
}

/**
 * Runs one of the participant's stored use cases at most once per idempotency key, in one
 * round trip: the function inserts the key row, applies the rules, makes the change and stores
 * the answer in the statement's own transaction, so a crash leaves either all three or none. A
 * duplicate that arrives while the first is still running blocks on the key's row lock and then
 * replays the stored answer. A connection that breaks mid-call (the database restarted) fails
 * the statement, which commits nothing; the caller gets a 503 and retries with the same key,
 * which then either replays the answer or does the work for the first time.
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
export async function idempotentCall(
  pool: Pool,
  useCase: string,
  keyed: Keyed,
  args: unknown[],
): Promise<Outcome & { replayed: boolean }> {
  const placeholders = args.map((_, i) => `$${i + 3}`).join(', ');
  const { rows } = await pool.query<StoredAnswer>({
    // Named, so each pooled connection has PostgreSQL parse and plan the call once, not per step.
    name: `${useCase}/${args.length}`,
    text: `SELECT * FROM ${useCase}($1, $2, ${placeholders})`,
    values: [keyed.key, keyed.hash, ...args],
  });
  const answer = rows[0];
  if (!answer) throw new Error(`${useCase} returned no answer`);
  if (answer.request_hash !== keyed.hash)
    throw new AppError(
      'idempotency-key-reused',
      422,
      'This Idempotency-Key was already used for a different request.',
    );
  const problem = (answer.response as Partial<StoredProblem>).problem;
  if (answer.status_code >= 400 && problem) {
    const { code, detail, ...extensions } = problem;
    throw new AppError(code, answer.status_code, detail, {
      extensions: answer.replayed ? { ...extensions, replayed: true } : extensions,
    });
  }
  return { status: answer.status_code, body: answer.response, replayed: answer.replayed };
}
