import { randomUUID } from 'node:crypto';
import type { Express, Request, Response } from 'express';
import { z } from 'zod';
import { parse, takesNothing, text } from '@lab/shared/http';
import type { CallContext } from '../../domain/supplier-dependency.ts';

// The SKU keys the fallback cache and goes into the supplier's URL: one schema for all text.
export const skuParams = z.object({
  sku: text({
    max: 64,
    pattern: /^[A-Za-z0-9][A-Za-z0-9-]*$/,
    patternMessage: 'expected letters, digits and -, starting with a letter or digit',
  }),
});

type UseCase = (sku: string, ctx: CallContext) => Promise<unknown>;

/** The caller's request id travels to the supplier; its hang-up becomes an abort signal. */
function contextOf(req: Request, res: Response): CallContext {
  const incoming = req.headers['x-request-id'];
  // At the edge an unusable id is replaced, not refused: a caller's correlation header is no
  // reason to fail its request. The supplier, whose one caller is this gateway, refuses one.
  const requestId =
    typeof incoming === 'string' && /^[\w.:-]{1,128}$/.test(incoming) ? incoming : randomUUID();
  const caller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) caller.abort();
  });
  return { requestId, callerSignal: caller.signal };
}

export function gatewayRoutes(app: Express, deps: { quote: UseCase; availability: UseCase }) {
  app.get('/quotes/:sku', async (req, res) => {
    const { sku } = parse(req, 'params', skuParams);
    takesNothing(req);
    res.json(await deps.quote(sku, contextOf(req, res)));
  });
  app.get('/availability/:sku', async (req, res) => {
    const { sku } = parse(req, 'params', skuParams);
    takesNothing(req);
    res.json(await deps.availability(sku, contextOf(req, res)));
  });
}
