import type { Request, RequestHandler } from 'express';
import { z } from 'zod';
import { idempotencyKey, parse } from '@lab/shared/http';
import { requestHash, type Keyed, type Outcome } from '../../data-access/idempotency.repository.ts';
import { finishOrLose } from '@lab/shared/chaos';

const Headers = z.object({ 'idempotency-key': idempotencyKey() });

/**
 * A mutating participant endpoint: the caller's Idempotency-Key (the orchestrator derives it
 * from saga and step) makes every retry of the same step land on one stored answer.
 */
export function idempotentRoute(
  work: (keyed: Keyed, req: Request) => Promise<Outcome & { replayed: boolean }>,
  // Runs before the key is recorded: a request rejected here leaves no trace in the database.
  validate: (req: Request) => void = () => undefined,
): RequestHandler {
  return async (req, res) => {
    const key = parse(req, 'headers', Headers)['idempotency-key'];
    validate(req);
    const outcome = await work({ key, hash: requestHash(req.method, req.path, req.body) }, req);
    if (outcome.replayed) res.setHeader('Idempotent-Replayed', 'true');
    finishOrLose(res, outcome.status, outcome.body);
  };
}
