import type { RequestHandler } from 'express';

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
