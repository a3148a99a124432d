import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { SpawnedService } from '@lab/shared/testkit';
// The tests drive a real lab; the console's own code never imports one (see .dependency-cruiser.mjs).
import {
  startSagaLab,
  tolerantBudgets,
  uniqueDatabases,
  type SagaLab,
} from '../../saga-orchestrator/lab/src/services.ts';
import { browserTest, screenshot, tripWith } from './harness.ts';

let lab: SagaLab;
let console: SpawnedService;
let page: Page;

const run = browserTest();

beforeAll(async () => {
  lab = await startSagaLab({
    databases: uniqueDatabases('console'),
    orchestratorEnv: tolerantBudgets,
  });
  run.onStop(lab.stop);
  ({ console, page } = await run.open(
    {
      CONSOLE_SAGA_ORCHESTRATOR_URL: lab.urls.orchestrator,
      CONSOLE_SAGA_FLIGHTS_URL: lab.urls.flights,
      CONSOLE_SAGA_HOTELS_URL: lab.urls.hotels,
      CONSOLE_SAGA_CARS_URL: lab.urls.cars,
      CONSOLE_SAGA_PAYMENTS_URL: lab.urls.payments,
    },
    'saga',
  ));
});
afterAll(run.stop);

describe('the saga tab', () => {
  it('When a trip finds its hotel sold out, then its timeline shows the refused step, the flight compensation and the steps never reached', async () => {
    await page.click('[data-testid=book-trip]');
    await tripWith(page, 'COMPLETED');

    await page.click('[data-testid=book-trip-sold-out-hotels]');
    const trip = await tripWith(page, 'COMPENSATED');

    const stateOf = async (testId: string) =>
      (await trip.$(`[data-testid=${testId}]`))?.getAttribute('data-state');
    expect(await stateOf('step-reserve-flight')).toBe('SUCCEEDED');
    expect(await stateOf('step-reserve-hotel')).toBe('FAILED');
    for (const unreached of ['reserve-car', 'charge-payment', 'confirm-flight', 'confirm-car'])
      expect(await stateOf(`step-${unreached}`)).toBe('not-reached');
    const compensations = await Promise.all(
      (await trip.$$('[data-testid^=compensation-]')).map(async (el) => [
        await el.getAttribute('data-testid'),
        await el.getAttribute('data-state'),
      ]),
    );
    expect(compensations).toEqual([['compensation-cancel-flight', 'SUCCEEDED']]);
    // Trips are listed newest first, the compensated one above the completed one.
    const statuses = await Promise.all(
      (await page.$$('[data-testid^=trip-]')).map((el) => el.getAttribute('data-status')),
    );
    expect(statuses).toEqual(['COMPENSATED', 'COMPLETED']);
    await screenshot(page, 'saga-orchestrator/docs/console.png');
  });

  it('When flights refuses a confirmation after the pivot, then the trip shows CONFIRMATION_STUCK with a button, and pressing it refunds and releases the trip, newest compensation first', async () => {
    await page.click('[data-testid=fault-flights-confirmation]');
    await page.waitForSelector('tr:has-text("confirmation: reject")', { timeout: 30_000 });

    await page.click('[data-testid=book-trip]');
    const stuck = await tripWith(page, 'CONFIRMATION_STUCK');
    const tripId = (await stuck.getAttribute('data-testid'))?.slice('trip-'.length);
    expect(await stuck.textContent()).toContain('confirm-flight: 409 chaos-rejected');
    await page.click(`[data-testid=compensate-${tripId}]`);
    const undone = await page.waitForSelector(
      `[data-testid=trip-${tripId}][data-status=COMPENSATED]`,
      { timeout: 60_000 },
    );

    const compensations = await Promise.all(
      (await undone.$$('[data-testid^=compensation-]')).map(async (el) => ({
        name: await el.getAttribute('data-testid'),
        startedAt: Date.parse((await el.getAttribute('data-started-at')) ?? ''),
      })),
    );
    // The saga undoes the newest step first (the charge), one at a time; the page lists the
    // last compensation that ran at the top, so the flight's release leads.
    expect(compensations.map((c) => c.name)).toEqual([
      'compensation-cancel-flight',
      'compensation-cancel-hotel',
      'compensation-cancel-car',
      'compensation-refund-payment',
    ]);
    const starts = compensations.map((c) => c.startedAt);
    expect(starts.every((at, i) => i === 0 || at <= (starts[i - 1] ?? at))).toBe(true);

    // The button's fault stays until cleared, as every fault the page sets.
    await page.click('[data-testid=faults-clear]');
    await page.waitForSelector('tr:has-text("confirmation: reject")', {
      state: 'detached',
      timeout: 30_000,
    });
  });

  it('When the lab refuses an action with a 4xx, then the console answers that status with the lab problem inside, not 502', async () => {
    const res = await fetch(
      `${console.url}/api/saga/trips/00000000-0000-4000-8000-000000000000/retry-compensation`,
      { method: 'POST' },
    );

    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ code: 'lab-refused', lab: { status: 404 } });
    const compensate = await fetch(
      `${console.url}/api/saga/trips/00000000-0000-4000-8000-000000000000/compensate`,
      { method: 'POST' },
    );
    expect(compensate.status).toBe(404);
    expect(await compensate.json()).toMatchObject({ code: 'lab-refused', lab: { status: 404 } });
  });

  it('When a participant is killed, then its row says it is not answering instead of "no faults", and says so no more once it is back', async () => {
    await lab.services.hotels?.kill();
    const down = await page.waitForSelector('[data-testid=participant-hotels-down]', {
      timeout: 30_000,
    });
    expect(await down.textContent()).toContain('not answering');
    // The other participants still answer: their rows are what they were.
    expect(await page.$('[data-testid=participant-flights-down]')).toBeNull();

    await lab.restartParticipant('hotels');
    await page.waitForSelector('[data-testid=participant-hotels-down]', {
      state: 'detached',
      timeout: 30_000,
    });
  });
});
