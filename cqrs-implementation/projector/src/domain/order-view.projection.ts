import type { z } from 'zod';
import type { OrderState } from './events.ts';
import type { ViewUpdate } from './product-view.projection.ts';

/**
 * The order view is denormalised on purpose: lines already carry product name and unit price,
 * and the total is precomputed, so GET /orders/:id is one Redis read instead of a join.
 */
export function orderView(state: z.infer<typeof OrderState>, version: number): ViewUpdate {
  return {
    kind: 'order',
    id: state.orderId,
    version,
    doc: {
      id: state.orderId,
      customerId: state.customerId,
      status: state.status,
      placedAt: state.placedAt,
      lines: state.lines.map((line) => ({
        ...line,
        lineTotalCents: line.quantity * line.unitPriceCents,
      })),
      totalCents: state.totalCents,
      version,
    },
    index: { owner: state.customerId, score: Date.parse(state.placedAt) },
  };
}
