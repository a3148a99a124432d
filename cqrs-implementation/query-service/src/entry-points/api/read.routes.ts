import type { Express, Request, Response } from 'express';
import { z } from 'zod';
import { parse, takesNothing, text, uuid, wholeNumber } from '@lab/shared/http';
import type { ReadModelRepository } from '../../data-access/read-model.repository.ts';
import type { waitForToken } from '../../domain/consistency.ts';
import { customerOrders, getOrder, getProduct, topProducts } from '../../domain/queries/queries.ts';

const Id = z.object({ id: uuid() });
// The customer id becomes part of a Redis key, so it is refused, not rewritten, when it is
// text that has no UTF-8 encoding.
const Customer = z.object({
  id: text({ max: 64, pattern: /^[\w.:-]+$/, patternMessage: 'expected a customer id' }),
});
const ConsistencyHeaders = z.object({
  'x-consistency-token': text({ max: 8192 }).optional(),
  'x-consistency-timeout-ms': z
    .string()
    .regex(/^\d{1,5}$/, 'expected milliseconds')
    .transform(Number)
    .pipe(z.number().max(10_000))
    .optional(),
});

// Built once: constructing a zod schema (and compiling its parser on first use) costs more
// than a read-model lookup, so no route builds one per request. Strict: a misspelt or array
// key (`limit[]=5`) is refused, not dropped with the page size it meant.
const CustomerOrdersQuery = z
  .object({
    limit: wholeNumber({ min: 1, max: 100, fallback: 20 }),
    cursor: text({ max: 200 }).optional(),
  })
  .strict();
const TopProductsQuery = z
  .object({ limit: wholeNumber({ min: 1, max: 100, fallback: 10 }) })
  .strict();

const JSON_UTF8 = 'application/json; charset=utf-8';

/**
 * Answers JSON the queries already hold as text or bytes. The type is a constant, so it is set
 * as one: `res.type('json')` would look it up, and `res.send` of a string would parse it again
 * to add the charset and then measure and encode the text.
 */
function sendJson(res: Response, body: string | Buffer): void {
  res.setHeader('Content-Type', JSON_UTF8);
  res.send(typeof body === 'string' ? Buffer.from(body) : body);
}

export function readRoutes(
  app: Express,
  // `uncached`: the same reads past the near cache, for a read that waited for a token. A
  // host without a near cache (the monolith's joins) reads its store fresh every time anyway.
  readModel: ReadModelRepository & { uncached?: ReadModelRepository },
  defaultTimeoutMs: number,
  wait: typeof waitForToken,
): void {
  /**
   * The store to answer from. Without a token, at once from whatever the read model holds now
   * (the near cache included). With one, after the wait for its versions, and from Redis
   * itself: the near cache may not have heard of the write the token names yet.
   */
  const consistent = async (req: Request): Promise<ReadModelRepository> => {
    // Most reads carry neither header: nothing to validate, no schema run per request.
    if (
      req.headers['x-consistency-token'] === undefined &&
      req.headers['x-consistency-timeout-ms'] === undefined
    )
      return readModel;
    const headers = parse(req, 'headers', ConsistencyHeaders);
    const token = headers['x-consistency-token'];
    if (token === undefined) return readModel;
    await wait(readModel, token, headers['x-consistency-timeout-ms'] ?? defaultTimeoutMs);
    return readModel.uncached ?? readModel;
  };

  app.get('/orders/:id', async (req, res) => {
    const { id } = parse(req, 'params', Id);
    takesNothing(req);
    const model = await consistent(req);
    sendJson(res, await getOrder(model, id));
  });

  app.get('/customers/:id/orders', async (req, res) => {
    const { id } = parse(req, 'params', Customer);
    const query = parse(req, 'query', CustomerOrdersQuery);
    const model = await consistent(req);
    sendJson(res, await customerOrders(model, id, query.cursor, query.limit));
  });

  // Before /products/:id, or "top" would be taken for an id.
  app.get('/products/top', async (req, res) => {
    const { limit } = parse(req, 'query', TopProductsQuery);
    const model = await consistent(req);
    sendJson(res, await topProducts(model, limit));
  });

  app.get('/products/:id', async (req, res) => {
    const { id } = parse(req, 'params', Id);
    takesNothing(req);
    const model = await consistent(req);
    sendJson(res, await getProduct(model, id));
  });
}
