import { setTimeout as sleep } from 'node:timers/promises';
import type { Express, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { AppError, parse, problems, text } from '@lab/shared/http';
import type { Logger } from '@lab/shared/logging';
import type { CallLedger, CallOutcome } from '../../infrastructure/call-ledger.ts';
import { isUnknownSku, priceOf, stockOf } from '../../domain/catalog.ts';
import type { SupplierChaos, SupplierRoute } from '../../infrastructure/chaos.ts';
import { supplierMetrics } from '../../infrastructure/supplier-metrics.ts';

// The SKU is recorded in the call ledger and echoed in answers: one schema for all text.
export const skuParams = z.object({
  sku: text({
    max: 64,
    pattern: /^[A-Za-z0-9][A-Za-z0-9-]*$/,
    patternMessage: 'expected letters, digits and -, starting with a letter or digit',
  }),
});

interface Deps {
  chaos: SupplierChaos;
  ledger: CallLedger;
  logger: Logger;
  hangMaxMs: number;
}

const header = (req: Request, name: string) => {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
};

/** Resolves false when the caller hung up first: a well-behaved server stops working then. */
async function work(ms: number, signal: AbortSignal): Promise<boolean> {
  if (ms <= 0) return !signal.aborted;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

function serve(route: SupplierRoute, deps: Deps): RequestHandler {
  const answer = route === 'prices' ? priceOf : stockOf;
  return async (req: Request, res: Response) => {
    const { sku } = parse(req, 'params', skuParams);
    const decision = deps.chaos.decide(route);
    const attempt = Number(header(req, 'x-attempt'));
    const call = deps.ledger.begin({
      route,
      sku,
      requestId: header(req, 'x-request-id'),
      attempt: Number.isInteger(attempt) ? attempt : undefined,
      fault: decision.fault,
      latencyMs: decision.latencyMs,
      startedAt: Date.now(),
    });
    if (decision.fault !== 'none' || decision.latencyMs > 0) {
      supplierMetrics.faults.inc({
        route,
        fault: decision.fault === 'none' ? 'latency' : decision.fault,
      });
      deps.logger.info(
        { route, sku, seq: decision.seq, fault: decision.fault, latencyMs: decision.latencyMs },
        'chaos: injected fault',
      );
    }
    supplierMetrics.inFlight.inc({ route });
    let outcome: CallOutcome = 'ok';
    const callerGone = new AbortController();
    res.on('close', () => {
      supplierMetrics.inFlight.dec({ route });
      if (res.writableFinished || outcome === 'reset') {
        deps.ledger.end(call, outcome);
        return;
      }
      supplierMetrics.abortedByClient.inc({ route });
      deps.ledger.end(call, 'aborted-by-client');
      callerGone.abort();
    });

    const retryAfter: Record<string, string> =
      decision.retryAfterS === undefined ? {} : { 'Retry-After': String(decision.retryAfterS) };
    if (decision.fault === 'down') {
      outcome = 'down';
      throw new AppError('supplier-down', 503, `The ${route} route is down (chaos).`, {
        headers: retryAfter,
      });
    }
    if (decision.fault === 'hang') {
      // Held until the caller gives up: only a caller with a deadline gets its connection back.
      if (await work(deps.hangMaxMs, callerGone.signal)) {
        outcome = 'hang-expired';
        throw new AppError('hang-expired', 504, 'The injected hang outlived its maximum.');
      }
      return;
    }
    if (!(await work(decision.latencyMs, callerGone.signal))) return;
    if (decision.fault === 'reset') {
      outcome = 'reset';
      res.socket?.destroy();
      return;
    }
    if (decision.fault === 'error') {
      outcome = 'error';
      throw new AppError('injected-error', decision.status, `Injected ${route} error (chaos).`, {
        headers: retryAfter,
      });
    }
    if (isUnknownSku(sku)) {
      outcome = 'not-found';
      throw problems.notFound(`SKU ${sku}`);
    }
    res.json({ ...answer(sku), servedAt: new Date().toISOString() });
  };
}

export function supplierRoutes(app: Express, deps: Deps): void {
  app.get('/prices/:sku', serve('prices', deps));
  app.get('/stock/:sku', serve('stock', deps));
}
