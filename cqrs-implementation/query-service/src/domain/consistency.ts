import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { AppError, problems, uuid } from '@lab/shared/http';
import type { ReadModelRepository } from '../data-access/read-model.repository.ts';
import { recordConsistencyWait } from '../infrastructure/consistency-metrics.ts';

// An aggregate's version is a PostgreSQL integer in the write model: a token naming a higher one
// names a write that can never happen, and would only wait out its timeout for a 503.
const MAX_VERSION = 2_147_483_647;

const Token = z.object({
  v: z.literal(1),
  a: z
    .array(
      z.tuple([z.enum(['product', 'order']), uuid(), z.number().int().positive().max(MAX_VERSION)]),
    )
    .min(1)
    .max(100),
});

export function decodeToken(token: string): z.infer<typeof Token>['a'] {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    json = undefined;
  }
  const parsed = Token.safeParse(json);
  if (!parsed.success)
    throw new AppError(
      'invalid-consistency-token',
      400,
      'X-Consistency-Token is not a token this service issued.',
      {
        errors: [
          {
            path: 'headers.x-consistency-token',
            message: 'not a token this service issued',
            code: 'invalid_format',
          },
        ],
      },
    );
  return parsed.data.a;
}

const POLL_MS = 5;

/**
 * Read-your-writes over an eventually consistent read model: wait until every aggregate named
 * in the token has reached its version here, for at most `timeoutMs`. Past that, 503 with
 * Retry-After rather than an answer that silently lacks the client's own write.
 */
export async function waitForToken(
  readModel: ReadModelRepository,
  token: string,
  timeoutMs: number,
): Promise<void> {
  const wanted = decodeToken(token);
  const aggregates = wanted.map(([kind, id]) => [kind, id] as const);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const versions = await readModel.versions(aggregates);
    if (wanted.every(([, , version], i) => (versions[i] ?? 0) >= version)) {
      recordConsistencyWait('reflected');
      return;
    }
    if (Date.now() >= deadline) {
      recordConsistencyWait('timed-out');
      throw problems.unavailable(
        'read-model-behind',
        `The read model has not caught up with this write within ${timeoutMs} ms.`,
        1,
      );
    }
    await sleep(POLL_MS);
  }
}
