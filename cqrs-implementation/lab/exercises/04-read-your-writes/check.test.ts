import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandClient, queryClient } from '../../src/client.ts';
import { isolatedNamespace, startStack, type Stack, stopAllStacks } from '../../src/services.ts';
import { openStores, type Stores } from '../../test/helpers.ts';
import { exerciseModule } from '@lab/shared/testkit';

let stack: Stack;
let stores: Stores;

beforeAll(async () => {
  const ns = isolatedNamespace('ex04');
  stack = await startStack({
    ns,
    env: {
      // A projector slowed down on purpose: 300 ms per event.
      projector: { LAB_CHAOS: '1', PROJECTOR_APPLY_DELAY_MS: '300' },
      query: {
        LAB_CHAOS: '1',
        LAB_EXERCISE_MODULE: exerciseModule(import.meta.url, 'consistency.ts'),
      },
    },
  });
  stores = openStores(ns);
});
afterAll(async () => {
  await stopAllStacks();
  await stores.close();
});

describe('exercise 04: read your writes against a slow projector', () => {
  it('When a client reads with the token of its own write, then it sees the write, however slow the projector', async () => {
    const commands = commandClient(stack.url('command'));
    const queries = queryClient(stack.url('query'), 10_000);
    const product = await commands.createProduct({
      sku: 'ex04',
      name: 'Kettle',
      priceCents: 2500,
      stock: 5,
    });
    const order = await commands.placeOrder({
      customerId: 'me',
      lines: [{ productId: product.body.id, quantity: 1 }],
    });

    const mine = await queries.get(`/orders/${order.body.id}`, order.body.consistencyToken, 10_000);

    expect(
      mine.status,
      "GET /orders/:id with the order's X-Consistency-Token must wait until the read model has it",
    ).toBe(200);
    expect(mine.body).toMatchObject({ id: order.body.id, status: 'placed' });
  });

  it('When the read model cannot catch up within the budget, then 503 with Retry-After, not a stale answer', async () => {
    const commands = commandClient(stack.url('command'));
    const queries = queryClient(stack.url('query'), 10_000);
    const product = await commands.createProduct({
      sku: 'ex04-b',
      name: 'Mug',
      priceCents: 900,
      stock: 5,
    });
    await queries.get(`/products/${product.body.id}`, product.body.consistencyToken, 10_000);
    const restock = await commands.restock(product.body.id, 5);

    const answer = await queries.get(
      `/products/${product.body.id}`,
      restock.body.consistencyToken,
      50,
    );

    expect(
      answer.status,
      'a token the read model cannot reach within X-Consistency-Timeout-Ms must be 503 read-model-behind, whatever the read model holds now',
    ).toBe(503);
    expect(answer.headers.get('retry-after')).not.toBeNull();
  });
});
