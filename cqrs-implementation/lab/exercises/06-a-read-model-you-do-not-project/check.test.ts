import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exerciseModule } from '@lab/shared/testkit';
import { commandClient, queryClient } from '../../src/client.ts';
import { isolatedNamespace, startStack, type Stack, stopAllStacks } from '../../src/services.ts';
import { openStores, type Stores } from '../../test/helpers.ts';

let stack: Stack;
let stores: Stores;

beforeAll(async () => {
  const ns = isolatedNamespace('ex06');
  stack = await startStack({
    ns,
    wiring: 'monolith',
    env: {
      command: {
        LAB_CHAOS: '1',
        LAB_EXERCISE_MODULE: exerciseModule(import.meta.url, 'customer-order-ids.ts'),
      },
    },
  });
  stores = openStores(ns);
});
afterAll(async () => {
  await stopAllStacks();
  await stores.close();
});

describe('exercise 06: a read model you do not project', () => {
  it('When a customer has seven orders, then pages of three walk them newest first, each once, and a foreign cursor is refused', async () => {
    const commands = commandClient(stack.url('command'));
    const queries = queryClient(stack.url('query'));
    const product = await commands.createProduct({
      sku: 'ex06',
      name: 'Teapot',
      priceCents: 1800,
      stock: 100,
    });
    const placed: string[] = [];
    for (let i = 0; i < 7; i++)
      placed.push(
        (
          await commands.placeOrder({
            customerId: 'pager',
            lines: [{ productId: product.body.id, quantity: 1 }],
          })
        ).body.id,
      );
    const stranger = await commands.placeOrder({
      customerId: 'stranger',
      lines: [{ productId: product.body.id, quantity: 1 }],
    });

    const seen: string[] = [];
    let cursor: string | undefined;
    // Bounded: a cursor that is ignored would hand out the first page forever.
    for (let page = 0; page < 5; page++) {
      const res = await queries.customerOrders('pager', cursor, 3);
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((order) => order.id));
      cursor = res.body.nextCursor ?? undefined;
      if (!cursor) break;
    }
    const foreign = await queries.customerOrders(
      'pager',
      Buffer.from(stranger.body.id).toString('base64url'),
      3,
    );

    expect(
      seen,
      'each order once, newest first, pages of three: a page that repeats the first means the cursor is ignored',
    ).toEqual([...placed].reverse());
    expect(foreign.status).toBe(400);
  });

  it('When orders were placed at the same instant, then the id breaks the tie: pages still walk every order once', async () => {
    const commands = commandClient(stack.url('command'));
    const queries = queryClient(stack.url('query'));
    const product = await commands.createProduct({
      sku: 'ex06-ties',
      name: 'Kettle',
      priceCents: 2500,
      stock: 100,
    });
    const placed: string[] = [];
    for (let i = 0; i < 5; i++)
      placed.push(
        (
          await commands.placeOrder({
            customerId: 'ties',
            lines: [{ productId: product.body.id, quantity: 1 }],
          })
        ).body.id,
      );
    // Two transactions can commit with one timestamp; here all five do.
    await stores.pool.query(
      `UPDATE orders SET placed_at = (SELECT min(placed_at) FROM orders WHERE customer_id = 'ties')
        WHERE customer_id = 'ties'`,
    );

    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 5; page++) {
      const res = await queries.customerOrders('ties', cursor, 2);
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((order) => order.id));
      cursor = res.body.nextCursor ?? undefined;
      if (!cursor) break;
    }

    expect(
      seen,
      'orders with the same placed_at were skipped or repeated: the cursor needs the id as well',
    ).toEqual([...placed].sort().reverse());
  });
});
