import type { Express } from 'express';
import { z } from 'zod';
import { parse, text, uuid } from '@lab/shared/http';
import type { Pool } from '@lab/shared/pg';
import type { Outbox } from '../../data-access/outbox.repository.ts';
import { createProduct } from '../../domain/commands/create-product.command.ts';
import { restockProduct } from '../../domain/commands/restock-product.command.ts';

const MAX_UNITS = 1_000_000_000;
// Strict: an unknown key is refused with its name, never silently dropped.
const NewProduct = z
  .object({
    // Kept exactly as sent (no trimming): the read model must show the name the client wrote.
    sku: text({ max: 64, pattern: /\S/, patternMessage: 'must not be blank' }),
    name: text({ max: 200, pattern: /\S/, patternMessage: 'must not be blank' }),
    priceCents: z.number().int().min(0).max(MAX_UNITS),
    stock: z.number().int().min(0).max(MAX_UNITS),
  })
  .strict();
const Restock = z.object({ quantity: z.number().int().positive().max(MAX_UNITS) }).strict();
export const IdParams = z.object({ id: uuid() });

export function productRoutes(app: Express, pool: Pool, outbox: Outbox): void {
  app.post('/products', async (req, res) => {
    const body = parse(req, 'body', NewProduct);
    res.status(201).json(await createProduct(pool, outbox, body));
  });

  app.post('/products/:id/restock', async (req, res) => {
    const { id } = parse(req, 'params', IdParams);
    const { quantity } = parse(req, 'body', Restock);
    res.json(await restockProduct(pool, outbox, id, quantity));
  });
}
