import { problems } from '@lab/shared/http';
import { withTransaction, type Pool } from '@lab/shared/pg';
import { insertProduct } from '../../data-access/products.repository.ts';
import type { Outbox } from '../../data-access/outbox.repository.ts';
import { consistencyTokenFor } from '../consistency-token.ts';
import { productEvent } from '../events.ts';

export interface CreateProduct {
  sku: string;
  name: string;
  priceCents: number;
  stock: number;
}

export async function createProduct(pool: Pool, outbox: Outbox, input: CreateProduct) {
  return withTransaction(pool, async (client) => {
    const product = await insertProduct(client, input);
    if (!product) throw problems.conflict('sku-taken', `SKU ${input.sku} already exists.`);
    const { version, ...state } = product;
    const events = [productEvent('ProductCreated', version, state)];
    await outbox.append(client, events);
    return { id: product.productId, version, consistencyToken: consistencyTokenFor(events) };
  });
}
