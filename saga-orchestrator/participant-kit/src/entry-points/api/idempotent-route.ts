import type { Request, RequestHandler } from 'express';
import { z } from 'zod';
import { idempotencyKey, parse } from '@lab/shared/http';
import { requestHash, type Keyed, type Outcome } from '../../data-access/idempotency.repository.ts';
import { finishOrLose } from '@lab/shared/chaos';

const Headers = z.object({ 'idempotency-key': idempotencyKey() });

/**
 * A mutating participant endpoint: the caller's Idempotency-Key (the orchestrator derives it
 * from saga and step) makes every retry of the same step land on one stored answer. Handlers in
 * order: the request's checks, the chaos gate of its target, the work.
 */
export function idempotentRoute(route: {
  /** The chaos gate of the endpoint's target (`chaosGate(chaos, 'action')`). */
  gate: RequestHandler;
  // Runs before the key is recorded: a request rejected here leaves no trace in the database.
  validate: (req: Request) => void;
  work: (keyed: Keyed, req: Request) => Promise<Outcome & { replayed: boolean }>;
}): RequestHandler[] {
  return [
    // Checked before the gate: a fault is injected only into a call the participant would
    // serve, so a malformed one gets its 400 and does not use up a planned fault.
    (req, res, next) => {
      res.locals.idempotencyKey = parse(req, 'headers', Headers)['idempotency-key'];
      route.validate(req);
      next();
    },
    route.gate,
    async (req, res) => {
      const key = res.locals.idempotencyKey as string;
      const outcome = await route.work(
        { key, hash: requestHash(req.method, req.path, req.body) },
        req,
      );
      if (outcome.replayed) res.setHeader('Idempotent-Replayed', 'true');
      finishOrLose(res, outcome.status, outcome.body);
    },
  ];
}
