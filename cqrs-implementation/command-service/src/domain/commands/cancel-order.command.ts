import { problems } from '@lab/shared/http';
import { withTransaction, type Pool } from '@lab/shared/pg';
import { cancelIfVersion, findOrder, linesOf } from '../../data-access/orders.repository.ts';
import type { Outbox } from '../../data-access/outbox.repository.ts';
import { returnStock } from '../../data-access/products.repository.ts';
import { consistencyTokenFor } from '../consistency-token.ts';
import { orderEvent, productEvent, type DomainEvent } from '../events.ts';

export async function cancelOrder(
  pool: Pool,
  outbox: Outbox,
  orderId: string,
  expectedVersion: number,
) {
  return withTransaction(pool, async (client) => {
    const order = await cancelIfVersion(client, orderId, expectedVersion);
    if (!order) {
      const current = await findOrder(client, orderId);
      if (!current) throw problems.notFound(`Order ${orderId}`);
      if (current.version !== expectedVersion)
        throw problems.conflict(
          'version-conflict',
          `Order ${orderId} is at version ${current.version}, not ${expectedVersion}.`,
          { currentVersion: current.version },
        );
      throw problems.conflict('order-already-cancelled', `Order ${orderId} is already cancelled.`);
    }

    const lines = await linesOf(client, orderId);
    const returned = new Map<string, number>();
    for (const line of lines)
      returned.set(line.productId, (returned.get(line.productId) ?? 0) + line.quantity);
    const events: DomainEvent[] = [
      orderEvent('OrderCancelled', order.version, {
        orderId: order.orderId,
        customerId: order.customerId,
        status: order.status,
        totalCents: order.totalCents,
        placedAt: order.placedAt,
        lines,
      }),
    ];
    // Same lock order as placing an order (product id order), so the two never deadlock.
    for (const [productId, quantity] of [...returned].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const { version, ...state } = await returnStock(client, productId, quantity);
      events.push(productEvent('ProductSaleReverted', version, state, { quantity }));
    }
    await outbox.append(client, events);
    return { version: order.version, consistencyToken: consistencyTokenFor(events) };
  });
}
