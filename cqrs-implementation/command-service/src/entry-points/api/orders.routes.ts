import type { Express } from 'express';
import { z } from 'zod';
import { idempotencyKey, parse, text, uuid } from '@lab/shared/http';
import type { Pool } from '@lab/shared/pg';
import type { Outbox } from '../../data-access/outbox.repository.ts';
import { cancelOrder } from '../../domain/commands/cancel-order.command.ts';
import { placeOrder } from '../../domain/commands/place-order.command.ts';
import { IdParams } from './products.routes.ts';

// Strict, like every command body of the lab: a misspelt key (`quantitiy`) is refused with
// its name, not dropped while the command runs without what the client meant.
const NewOrder = z
  .object({
    customerId: text({
      max: 64,
      pattern: /^[\w.:-]+$/,
      patternMessage: 'expected 1-64 letters, digits or _ . : -',
    }),
    lines: z
      .array(
        z
          .object({
            productId: uuid(),
            quantity: z.number().int().positive().max(1000),
          })
          .strict(),
      )
      .min(1)
      .max(50),
  })
  .strict();
const OrderHeaders = z.object({
  'idempotency-key': idempotencyKey().optional(),
});
const Cancel = z
  .object({
    expectedVersion: z
      .number()
      .int()
      .positive()
      .max(2 ** 31 - 1),
  })
  .strict();

export function orderRoutes(app: Express, pool: Pool, outbox: Outbox): void {
  app.post('/orders', async (req, res) => {
    const headers = parse(req, 'headers', OrderHeaders);
    const body = parse(req, 'body', NewOrder);
    const result = await placeOrder(pool, outbox, body, headers['idempotency-key']);
    res.status(result.status).json(result.body);
  });

  app.post('/orders/:id/cancel', async (req, res) => {
    const { id } = parse(req, 'params', IdParams);
    const { expectedVersion } = parse(req, 'body', Cancel);
    res.json(await cancelOrder(pool, outbox, id, expectedVersion));
  });
}
