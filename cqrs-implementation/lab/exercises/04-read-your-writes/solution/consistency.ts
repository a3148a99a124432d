import { setTimeout as sleep } from 'node:timers/promises';
import { problems } from '@lab/shared/http';
import { decodeToken, type ReadModelRepository } from '@lab/cqrs-query-service/seams';

/**
 * Read-your-writes: the token lists the aggregates the write changed and the versions it gave
 * them. Poll those versions in the read model until every one has been reached, for at most
 * the caller's budget; then say 503 + Retry-After rather than answer without the write.
 */
export async function waitForToken(
  readModel: ReadModelRepository,
  token: string,
  timeoutMs: number,
): Promise<void> {
  const wanted = decodeToken(token);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const versions = await readModel.versions(wanted.map(([kind, id]) => [kind, id] as const));
    if (wanted.every(([, , version], i) => (versions[i] ?? 0) >= version)) return;
    if (Date.now() >= deadline)
      throw problems.unavailable('read-model-behind', 'The read model has not caught up yet.', 1);
    await sleep(10);
  }
}
