import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { SpawnedService } from '@lab/shared/testkit';
// The tests drive a real lab; the console's own code never imports one (see .dependency-cruiser.mjs).
import {
  startSagaMonolith,
  uniqueMonolithDatabase,
  type SagaMonolith,
} from '../../saga-orchestrator/lab/src/services.ts';
import { browserTest, screenshot, startConsole, tripWith } from './harness.ts';

let monolith: SagaMonolith;
let console: SpawnedService;
let page: Page;

const run = browserTest();

// Nothing listens on port 9: a console that booked through the participants' services instead
// of the monolith's module paths would fail every booking.
const nowhere = 'http://127.0.0.1:9';

beforeAll(async () => {
  monolith = await startSagaMonolith({ database: uniqueMonolithDatabase('console') });
  run.onStop(monolith.stop);
  ({ console, page } = await run.open(
    {
      CONSOLE_SAGA_ORCHESTRATOR_URL: monolith.urls.orchestrator,
      CONSOLE_SAGA_FLIGHTS_URL: nowhere,
      CONSOLE_SAGA_HOTELS_URL: nowhere,
      CONSOLE_SAGA_CARS_URL: nowhere,
      CONSOLE_SAGA_PAYMENTS_URL: nowhere,
    },
    'saga',
  ));
});
afterAll(run.stop);

describe('the saga tab with the monolith', () => {
  it('When the monolith answers, then the tab says so and books trips through its modules, each one transaction with no timeline', async () => {
    await page.waitForSelector('[data-testid=saga-monolith]', { timeout: 30_000 });
    expect(await page.$('[data-testid=lab-down-saga]')).toBeNull();

    await page.click('[data-testid=book-trip]');
    const completed = await tripWith(page, 'COMPLETED');
    await page.click('[data-testid=book-trip-sold-out-hotels]');
    const compensated = await tripWith(page, 'COMPENSATED');

    expect(await compensated.textContent()).toContain('why: reserve-hotel: 409 sold-out');
    // One transaction: no steps to draw, but the trace of the POST that ran it.
    for (const trip of [completed, compensated]) {
      expect(await trip.$('[data-testid=forward-steps]')).toBeNull();
      expect(await (await trip.$('a'))?.getAttribute('href')).toMatch(/\/traces\/[\da-f]{32}$/);
    }
    // No participant services, so no fault buttons.
    expect(await page.$('[data-testid^=fault-]')).toBeNull();
    await screenshot(page, 'saga-orchestrator/docs/console-monolith.png');
  });

  it('When a fault is asked of the monolith through the console API, then 409 problem+json says it has no network to break', async () => {
    const res = await fetch(`${console.url}/api/saga/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ participant: 'hotels', fault: 'error' }),
    });

    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ code: 'not-in-this-wiring' });
  });

  it('When the monolith comes up on an address the console last saw empty, then a booking right away reaches its modules, without waiting for a poll', async () => {
    await monolith.kill();
    // Polls a minute apart while no page watches: its only look found nothing there.
    const idle = await startConsole({
      CONSOLE_SAGA_ORCHESTRATOR_URL: monolith.urls.orchestrator,
      CONSOLE_SAGA_FLIGHTS_URL: nowhere,
      CONSOLE_SAGA_HOTELS_URL: nowhere,
      CONSOLE_SAGA_CARS_URL: nowhere,
      CONSOLE_SAGA_PAYMENTS_URL: nowhere,
      CONSOLE_IDLE_POLL_MS: '60000',
    });
    run.onStop(idle.stop);
    await monolith.restart();

    const res = await fetch(`${idle.url}/api/saga/trips`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });

    expect(res.status, await res.clone().text()).toBe(202);
    expect(await res.json()).toMatchObject({ status: 'COMPLETED' });
  });
});
