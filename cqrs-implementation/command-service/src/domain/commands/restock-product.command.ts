import { problems } from '@lab/shared/http';
import { withTransaction, type Pool } from '@lab/shared/pg';
import { restock } from '../../data-access/products.repository.ts';
import type { Outbox } from '../../data-access/outbox.repository.ts';
import { consistencyTokenFor } from '../consistency-token.ts';
import { productEvent } from '../events.ts';

export async function restockProduct(
  pool: Pool,
  outbox: Outbox,
  productId: string,
  quantity: number,
) {
  return withTransaction(pool, async (client) => {
    const product = await restock(client, productId, quantity);
    if (!product) throw problems.notFound(`Product ${productId}`);
    const { version, ...state } = product;
    const events = [productEvent('ProductRestocked', version, state, { quantity })];
    await outbox.append(client, events);
    return { version, consistencyToken: consistencyTokenFor(events) };
  });
}
