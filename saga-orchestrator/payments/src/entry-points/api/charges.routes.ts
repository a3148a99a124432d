import type { Express, Request } from 'express';
import { z } from 'zod';
import { parse, problems, takesNothing, text } from '@lab/shared/http';
import type { Pool } from '@lab/shared/pg';
import { chaosGate } from '@lab/shared/chaos';
import { idempotentRoute, serverTiming, type ParticipantChaos } from '@lab/saga-participant-kit';
import * as charges from '../../data-access/charge.repository.ts';

const ChargeId = text({ max: 200 });
const CardToken = text({ max: 100 });
const ChargeBody = z
  .object({
    chargeId: ChargeId,
    cardToken: CardToken,
    amountCents: z.number().int().min(1).max(100_000_000),
  })
  .strict();
const Params = z.object({ id: ChargeId });
/**
 * A refund names its charge in the path and takes nothing else: an amount or any other field is
 * refused before the key is recorded, not ignored while the whole charge is voided.
 */
const chargeInPath = (req: Request) => {
  parse(req, 'params', Params);
  takesNothing(req);
};
const NewCard = z
  .object({
    cardToken: CardToken,
    limitCents: z.number().int().min(0).max(1_000_000_000_000),
  })
  .strict();

export function chargeRoutes(app: Express, deps: { pool: Pool; chaos: ParticipantChaos }): void {
  const { pool, chaos } = deps;
  app.post(
    '/charges',
    serverTiming,
    ...idempotentRoute({
      validate: (req) => parse(req, 'body', ChargeBody),
      gate: chaosGate(chaos, 'action'),
      work: (keyed, req) => charges.charge(pool, keyed, parse(req, 'body', ChargeBody)),
    }),
  );
  app.post(
    '/charges/:id/refund',
    serverTiming,
    ...idempotentRoute({
      validate: chargeInPath,
      gate: chaosGate(chaos, 'compensation'),
      work: (keyed, req) => charges.refund(pool, keyed, parse(req, 'params', Params).id),
    }),
  );
  app.get('/charges/:id', async (req, res) => {
    const { id } = parse(req, 'params', Params);
    takesNothing(req);
    const { rows } = await pool.query(
      `SELECT id AS "chargeId", card_token AS "cardToken", amount_cents AS "amountCents", status
         FROM charges WHERE id = $1`,
      [id],
    );
    if (!rows[0]) throw problems.notFound('The charge');
    res.json(rows[0]);
  });
}

/** Lab administration (LAB_CHAOS=1 only): a card with a limit, to make declines happen. */
export function cardRoutes(app: Express, pool: Pool): void {
  app.post('/cards', async (req, res) => {
    const { cardToken, limitCents } = parse(req, 'body', NewCard);
    await charges.createCard(pool, cardToken, limitCents);
    res.status(201).json({ cardToken, limitCents });
  });
}
