import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { SpawnedService } from '@lab/shared/testkit';
// The tests drive a real lab; the console's own code never imports one (see .dependency-cruiser.mjs).
import {
  isolatedNamespace,
  startStack,
  stopAllStacks,
  type Stack,
} from '../../cqrs-implementation/lab/src/services.ts';
import { browserTest } from './harness.ts';

let stack: Stack;
let console: SpawnedService;
let page: Page;

const run = browserTest();

// The split lab's query service, relay and projector addresses all lead here: under the
// monolith the console has nothing to ask them, so every request that arrives is a defect.
let splitAddresses: Server;
const askedOfSplitServices: string[] = [];

beforeAll(async () => {
  splitAddresses = createServer((req, res) => {
    askedOfSplitServices.push(`${req.method ?? ''} ${req.url ?? ''}`);
    res.writeHead(404).end();
  }).listen(0, '127.0.0.1');
  await once(splitAddresses, 'listening');
  const address = splitAddresses.address();
  const elsewhere = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  stack = await startStack({ ns: isolatedNamespace('console-mono'), wiring: 'monolith' });
  run.onStop(stopAllStacks);
  ({ console, page } = await run.open(
    {
      CONSOLE_CQRS_COMMAND_URL: stack.url('command'),
      CONSOLE_CQRS_QUERY_URL: elsewhere,
      CONSOLE_CQRS_RELAY_URL: elsewhere,
      CONSOLE_CQRS_PROJECTOR_URL: elsewhere,
    },
    'cqrs',
  ));
});
afterAll(async () => {
  await run.stop();
  splitAddresses.close();
});

describe('the CQRS tab with the monolith', () => {
  it('When the monolith answers, then the tab says so, draws no pipeline, and an order placed from the page is read at once, with or without its token', async () => {
    await page.waitForSelector('[data-testid=cqrs-monolith]', { timeout: 30_000 });
    expect(await page.$('[data-testid=lab-down-cqrs]')).toBeNull();
    expect(await page.$('[data-testid^=stage-]')).toBeNull();

    await page.click('[data-testid=place-order]');
    const row = await page.waitForSelector('[data-testid^=order-read-]', { timeout: 30_000 });

    expect(
      await (await row.$('[data-testid=read-without-token]'))?.getAttribute('data-status'),
    ).toBe('200');
    expect(await (await row.$('[data-testid=read-with-token]'))?.getAttribute('data-status')).toBe(
      '200',
    );
    // Polls ran all along (the tab shows the monolith because they did): none reached the
    // split services' addresses, and neither did the order or its reads.
    expect(askedOfSplitServices).toEqual([]);
  });

  it('When dead letters are asked of the monolith through the console API, then 409 problem+json says it has no projector', async () => {
    const res = await fetch(`${console.url}/api/cqrs/dead-letters`);

    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ code: 'not-in-this-wiring' });
  });
});
