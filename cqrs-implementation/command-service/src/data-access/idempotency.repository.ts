import type { PoolClient } from '@lab/shared/pg';

export interface StoredResponse {
  requestHash: string;
  statusCode: number;
  response: unknown;
}

/**
 * Claims an idempotency key inside the command's transaction. A concurrent request with the
 * same key blocks on the unique index until the first commits (then sees its response) or
 * rolls back (then claims the key itself), so one key can never produce two orders.
 *
 * Only a success is stored. A rejected command (insufficient stock, unknown product) throws,
 * and the transaction that claimed the key rolls back with it, so the key is free again and a
 * retry with the same key is judged afresh: the stock may have been restocked since. That is
 * right here because a rejection wrote nothing, published no event, and the key belongs to a
 * client that is free to try the same order again. The saga's participants do the opposite and
 * store a rejection to replay it: there the key names one step of one saga, the orchestrator
 * records the answer in its saga log and acts on it (a rejection starts the compensation), so
 * a duplicate of that call must get the answer the saga already acted on, not a new one.
 */
export async function claimKey(
  client: PoolClient,
  key: string,
  requestHash: string,
): Promise<StoredResponse | undefined> {
  const inserted = await client.query(
    `INSERT INTO idempotency_keys (key, request_hash, status_code, response)
     VALUES ($1, $2, 0, 'null') ON CONFLICT (key) DO NOTHING`,
    [key, requestHash],
  );
  if (inserted.rowCount === 1) return undefined;
  const { rows } = await client.query<StoredResponse>(
    `SELECT request_hash AS "requestHash", status_code AS "statusCode", response
       FROM idempotency_keys WHERE key = $1`,
    [key],
  );
  return rows[0];
}

export async function storeResponse(
  client: PoolClient,
  key: string,
  statusCode: number,
  response: unknown,
): Promise<void> {
  await client.query('UPDATE idempotency_keys SET status_code = $2, response = $3 WHERE key = $1', [
    key,
    statusCode,
    JSON.stringify(response),
  ]);
}
