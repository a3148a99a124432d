import type { z } from 'zod';
import type { ProductState } from './events.ts';

export interface ViewUpdate {
  kind: 'product' | 'order';
  id: string;
  version: number;
  doc: unknown;
  /** The view's entry in its index: top products by units sold, or a customer's orders by time. */
  index: { owner: string; score: number };
}

/** The product view answers GET /products/:id and feeds the best-sellers index. */
export function productView(state: z.infer<typeof ProductState>, version: number): ViewUpdate {
  return {
    kind: 'product',
    id: state.productId,
    version,
    doc: {
      id: state.productId,
      sku: state.sku,
      name: state.name,
      priceCents: state.priceCents,
      stock: state.stock,
      unitsSold: state.unitsSold,
      version,
    },
    index: { owner: '', score: state.unitsSold },
  };
}
