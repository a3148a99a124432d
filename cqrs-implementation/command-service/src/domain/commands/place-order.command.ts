import { createHash } from 'node:crypto';
import { AppError, problems } from '@lab/shared/http';
import { withTransaction, type Pool } from '@lab/shared/pg';
import { claimKey, storeResponse } from '../../data-access/idempotency.repository.ts';
import { insertOrder } from '../../data-access/orders.repository.ts';
import type { Outbox } from '../../data-access/outbox.repository.ts';
import { productExists, takeStock } from '../../data-access/products.repository.ts';
import { consistencyTokenFor } from '../consistency-token.ts';
import { orderEvent, productEvent, type DomainEvent, type OrderLineState } from '../events.ts';

export interface PlaceOrder {
  customerId: string;
  lines: { productId: string; quantity: number }[];
}

export interface CommandResult {
  status: number;
  body: unknown;
}

/** Quantities per product, in id order: every transaction locks products in the same order, so two orders can never deadlock. */
function quantitiesByProduct(lines: PlaceOrder['lines']): [string, number][] {
  const totals = new Map<string, number>();
  for (const line of lines)
    totals.set(line.productId, (totals.get(line.productId) ?? 0) + line.quantity);
  return [...totals.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
}

export async function placeOrder(
  pool: Pool,
  outbox: Outbox,
  input: PlaceOrder,
  idempotencyKey?: string,
): Promise<CommandResult> {
  const requestHash = createHash('sha256').update(JSON.stringify(input)).digest('hex');
  return withTransaction(pool, async (client) => {
    if (idempotencyKey !== undefined) {
      const first = await claimKey(client, idempotencyKey, requestHash);
      if (first && first.requestHash !== requestHash)
        throw new AppError(
          'idempotency-key-reused',
          422,
          'This Idempotency-Key was already used with a different request body.',
        );
      if (first) return { status: first.statusCode, body: first.response };
    }

    const events: DomainEvent[] = [];
    const products = new Map<string, { name: string; priceCents: number }>();
    for (const [productId, quantity] of quantitiesByProduct(input.lines)) {
      const product = await takeStock(client, productId, quantity);
      if (!product) {
        // Throwing rolls back every line taken so far: an order is all or nothing.
        if (!(await productExists(client, productId)))
          throw new AppError('unknown-product', 422, `Product ${productId} does not exist.`, {
            extensions: { productId },
          });
        throw problems.conflict(
          'insufficient-stock',
          `Not enough stock for product ${productId}.`,
          {
            productId,
          },
        );
      }
      const { version, ...state } = product;
      products.set(productId, { name: state.name, priceCents: state.priceCents });
      events.push(productEvent('ProductSold', version, state, { quantity }));
    }

    const lines: OrderLineState[] = input.lines.map((line) => {
      const product = products.get(line.productId);
      if (!product) throw new Error(`line product ${line.productId} was not locked`);
      return {
        productId: line.productId,
        productName: product.name,
        quantity: line.quantity,
        unitPriceCents: product.priceCents,
      };
    });
    const order = await insertOrder(client, input.customerId, lines);
    events.unshift(
      orderEvent('OrderPlaced', order.version, {
        orderId: order.orderId,
        customerId: order.customerId,
        status: order.status,
        totalCents: order.totalCents,
        placedAt: order.placedAt,
        lines,
      }),
    );
    await outbox.append(client, events);

    const result = {
      status: 201,
      body: {
        id: order.orderId,
        version: order.version,
        consistencyToken: consistencyTokenFor(events),
      },
    };
    if (idempotencyKey !== undefined)
      await storeResponse(client, idempotencyKey, result.status, result.body);
    return result;
  });
}
