import { setTimeout as sleep } from 'node:timers/promises';
import type { Express, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import {
  AppError,
  optionalWholeNumber,
  parse,
  problems,
  takesNothing,
  text,
} from '@lab/shared/http';
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

// The gateway's correlation headers, recorded in the call ledger the experiments read to count
// retries: refused when malformed, as any field is, so `x-attempt: 1e3` is never counted as
// attempt 1000 nor a 5,000-character id stored. Both stay optional for a caller with neither.
const callHeaders = z.object({
  'x-request-id': text({
    max: 128,
    pattern: /^[\w.:-]+$/,
    patternMessage: 'expected letters, digits, _ . : and -',
  }).optional(),
  'x-attempt': optionalWholeNumber({ min: 1, max: 1000 }),
});

/**
 * Retry-After on a 503 whose chaos rule sets none. Every 503 says when to come back; a supplier
 * with no estimate says 0, "whenever you like", which leaves the timing to the caller's own
 * backoff: the gateway waits the longer of its jittered draw and the supplier's Retry-After.
 */
const DEFAULT_RETRY_AFTER_S = 0;

interface Deps {
  chaos: SupplierChaos;
  ledger: CallLedger;
  logger: Logger;
  hangMaxMs: number;
}

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
    takesNothing(req);
    const { 'x-request-id': requestId, 'x-attempt': attempt } = parse(req, 'headers', callHeaders);
    const decision = deps.chaos.decide(route);
    const call = deps.ledger.begin({
      route,
      sku,
      requestId,
      attempt,
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
    const unavailable = { 'Retry-After': String(decision.retryAfterS ?? DEFAULT_RETRY_AFTER_S) };
    if (decision.fault === 'down') {
      outcome = 'down';
      throw new AppError('supplier-down', 503, `The ${route} route is down (chaos).`, {
        headers: unavailable,
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
        headers: decision.status === 503 ? unavailable : retryAfter,
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
