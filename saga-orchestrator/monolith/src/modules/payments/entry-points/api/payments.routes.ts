import type { Express } from 'express';
import { z } from 'zod';
import { parse, problems, takesNothing, text } from '@lab/shared/http';
import type { Pool } from '@lab/shared/pg';
import { inModuleTransaction } from '../../../../infrastructure/module-scope.ts';
import * as charges from '../../data-access/charges.repository.ts';

const NewCard = z
  .object({
    cardToken: text({ max: 100 }),
    limitCents: z.number().int().min(0).max(1_000_000_000_000),
  })
  .strict();
const Params = z.object({ id: text({ max: 200 }) });

/** Lab administration (LAB_CHAOS=1 only): `/payments/cards` as the participant's `/cards`. */
export function paymentsRoutes(app: Express, pool: Pool): void {
  app.post('/payments/cards', async (req, res) => {
    const { cardToken, limitCents } = parse(req, 'body', NewCard);
    await inModuleTransaction(pool, 'payments', (tx) =>
      charges.createCard(tx, cardToken, limitCents),
    );
    res.status(201).json({ cardToken, limitCents });
  });
  app.get('/payments/charges/:id', async (req, res) => {
    const { id } = parse(req, 'params', Params);
    takesNothing(req);
    const found = await inModuleTransaction(pool, 'payments', (tx) => charges.readCharge(tx, id));
    if (!found) throw problems.notFound('The charge');
    res.json(found);
  });
}
