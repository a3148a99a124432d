import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freePort, waitFor } from '@lab/shared/testkit';
// The tests drive a real lab; the console's own code never imports one (see .dependency-cruiser.mjs).
import { commandClient } from '../../cqrs-implementation/lab/src/client.ts';
import {
  isolatedNamespace,
  startStack,
  stopAllStacks,
  type Stack,
} from '../../cqrs-implementation/lab/src/services.ts';
import { browserTest, numberIn, screenshot } from './harness.ts';

let stack: Stack;
let page: Page;

const run = browserTest();

beforeAll(async () => {
  // A fixed projector port: the console keeps watching the same address across its restart.
  stack = await startStack({
    ns: isolatedNamespace('console'),
    ports: { projector: await freePort() },
  });
  run.onStop(stopAllStacks);
  ({ page } = await run.open(
    {
      CONSOLE_CQRS_COMMAND_URL: stack.url('command'),
      CONSOLE_CQRS_QUERY_URL: stack.url('query'),
      CONSOLE_CQRS_RELAY_URL: stack.url('relay'),
      CONSOLE_CQRS_PROJECTOR_URL: stack.url('projector'),
    },
    'cqrs',
  ));
});
afterAll(run.stop);

const shows = (testId: string, condition: (n: number) => boolean, description: string) =>
  waitFor(description, async () => condition(await numberIn(page, testId)), {
    timeoutMs: 60_000,
  });

describe('the CQRS tab', () => {
  it('When an order is placed from the page, then its read with the consistency token finds it', async () => {
    await page.click('[data-testid=place-order]');
    const row = await page.waitForSelector('[data-testid^=order-read-]', { timeout: 30_000 });
    const withToken = await row.$('[data-testid=read-with-token]');
    expect(await withToken?.getAttribute('data-status')).toBe('200');
    expect(await withToken?.textContent()).toMatch(/found after waiting \d+ ms/);
    expect(await row.$('a[href*="/zipkin/traces/"]')).not.toBeNull();
  });

  it('When the projector is stopped, then the lag grows while the outbox keeps draining; restarted, it catches up to 0', async () => {
    await shows('pipeline-lag-events', (n) => n === 0, 'the projector to have caught up');
    // A graceful stop: the group forgets the member at once instead of waiting out its session.
    await stack.services.projector?.stop();
    await page.waitForSelector('[data-testid=stage-projector].down', { timeout: 30_000 });
    // Its dead letters asked for while it is away: the page says so, and goes on drawing (the
    // lag below still has to show on it).
    await page.click('[data-testid=dead-letters-list]');
    await page.waitForSelector('[role=alert]:has-text("did not answer")', { timeout: 30_000 });

    const commands = commandClient(stack.url('command'));
    const product = await commands.createProduct({
      sku: 'console-lag',
      name: 'Lag',
      priceCents: 100,
      stock: 100,
    });
    expect(product.status).toBe(201);
    await shows('pipeline-lag-events', (n) => n >= 1, 'the lag to show the first event');
    for (let i = 0; i < 3; i++) {
      const order = await commands.placeOrder({
        customerId: 'console',
        lines: [{ productId: product.body.id, quantity: 1 }],
      });
      expect(order.status).toBe(201);
    }
    // Each order is two events (the order, the sale): the relay publishes them, nobody consumes.
    await shows('pipeline-lag-events', (n) => n >= 7, 'the lag to grow by the orders');
    await shows('pipeline-outbox-backlog', (n) => n === 0, 'the relay to drain the outbox');
    await screenshot(page, 'cqrs-implementation/docs/console.png');

    await stack.start('projector');
    await shows('pipeline-lag-events', (n) => n === 0, 'the restarted projector to catch up');
    expect(await numberIn(page, 'pipeline-outbox-backlog')).toBe(0);
    // Back: the same button lists them (none here), and the message line is gone.
    await page.click('[data-testid=dead-letters-list]');
    await page.waitForSelector('[data-testid=dead-letters]', {
      state: 'attached',
      timeout: 30_000,
    });
    expect(await page.$('[role=alert]')).toBeNull();
  });
});
