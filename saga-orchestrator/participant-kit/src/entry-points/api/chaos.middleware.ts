import type { Express, RequestHandler, Response } from 'express';
import { AppError, parse } from '@lab/shared/http';
import { Chaos, ChaosRequest, type ChaosTarget } from '../../domain/chaos.ts';

const HANG_LIMIT_MS = 60_000;

/**
 * Applies the chaos rule for this kind of call before the handler runs. A lost response is
 * only marked here: the handler commits the effect first, then `finishOrLose` drops the line.
 */
export function chaosGate(chaos: Chaos, target: ChaosTarget): RequestHandler {
  return async (_req, res, next) => {
    const fault = chaos.decide(target);
    if (fault === 'reject') {
      next(new AppError('chaos-rejected', 409, `Chaos: this ${target} is rejected.`));
    } else if (fault === 'error') {
      next(new AppError('chaos-failure', 500, `Chaos: this ${target} failed.`));
    } else if (fault === 'hang') {
      // No answer and no effect: only the caller's timeout (AbortSignal) ends this call.
      await new Promise<void>((resolve) => {
        const limit = setTimeout(resolve, HANG_LIMIT_MS);
        res.once('close', () => {
          clearTimeout(limit);
          resolve();
        });
      });
      res.socket?.destroy();
    } else {
      res.locals.loseResponse = fault === 'lose-response';
      next();
    }
  };
}

/** Sends the answer, or drops the connection after the commit when chaos said lose-response. */
export function finishOrLose(res: Response, status: number, body: unknown): void {
  if (res.locals.loseResponse === true) {
    res.socket?.destroy();
    return;
  }
  res.status(status).json(body);
}

export function chaosRoutes(app: Express, chaos: Chaos): void {
  app.post('/_chaos', (req, res) => {
    chaos.configure(parse(req, 'body', ChaosRequest));
    res.json({ chaos: chaos.describe() });
  });
  app.get('/_chaos', (_req, res) => {
    res.json({ chaos: chaos.describe() });
  });
}

/** Server-Timing lets the orchestrator (and the benchmark) separate its overhead from ours. */
export const serverTiming: RequestHandler = (_req, res, next) => {
  const started = performance.now();
  const writeHead = res.writeHead.bind(res);
  res.writeHead = ((...args: Parameters<typeof res.writeHead>) => {
    res.setHeader('Server-Timing', `app;dur=${(performance.now() - started).toFixed(3)}`);
    return writeHead(...args);
  }) as typeof res.writeHead;
  next();
};
