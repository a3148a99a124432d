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

// Nothing listens on port 9: a console that read from the split lab's query service, relay or
// projector instead of the monolith would fail every read.
const nowhere = 'http://127.0.0.1:9';

beforeAll(async () => {
  stack = await startStack({ ns: isolatedNamespace('console-mono'), wiring: 'monolith' });
  run.onStop(stopAllStacks);
  ({ console, page } = await run.open(
    {
      CONSOLE_CQRS_COMMAND_URL: stack.url('command'),
      CONSOLE_CQRS_QUERY_URL: nowhere,
      CONSOLE_CQRS_RELAY_URL: nowhere,
      CONSOLE_CQRS_PROJECTOR_URL: nowhere,
    },
    'cqrs',
  ));
});
afterAll(run.stop);

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
  });

  it('When dead letters are asked of the monolith through the console API, then 409 problem+json says it has no projector', async () => {
    const res = await fetch(`${console.url}/api/cqrs/dead-letters`);

    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ code: 'not-in-this-wiring' });
  });
});
