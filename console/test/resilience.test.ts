import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
// The tests drive a real lab; the console's own code never imports one (see .dependency-cruiser.mjs).
import { startLab, type RunningLab } from '../../resilience-lab/lab/src/services.ts';
import { browserTest, screenshot } from './harness.ts';

let lab: RunningLab;
let page: Page;

const run = browserTest();

beforeAll(async () => {
  // A short reset timeout so the breaker's whole cycle fits in a test.
  lab = await startLab({ gatewayEnv: { BREAKER_RESET_TIMEOUT_MS: '2000' } });
  run.onStop(lab.stop);
  ({ page } = await run.open(
    {
      CONSOLE_RESILIENCE_GATEWAY_URL: lab.gateway.url,
      CONSOLE_RESILIENCE_SUPPLIER_URL: lab.supplier.url,
    },
    'resilience',
  ));
});
afterAll(run.stop);

/** Waits for the prices breaker to show `state`; on the deadline, the error says what the page shows. */
async function breakerIs(state: string) {
  try {
    return await page.waitForSelector(`[data-testid=breaker-prices][data-state=${state}]`, {
      timeout: 30_000,
    });
  } catch (error) {
    // The header's live clock says whether the page still hears from the console at all.
    const shown = await page
      .locator('[data-testid=live], section')
      .allInnerTexts()
      .catch(() => ['(the page did not answer)']);
    const text = shown.join(' | ').replace(/\s+/g, ' ');
    const now = new Date().toISOString().slice(11, 19);
    throw new Error(`the prices breaker never showed ${state}; at ${now} the page shows: ${text}`, {
      cause: error,
    });
  }
}

/**
 * Clicks a control, then waits until the page shows its effect. A click only sends the request;
 * the page changes when the console's next state arrives, and a control clicked before that
 * may have moved (the traffic button's label changes length) from under the pointer.
 */
async function clickUntil(control: string, shown: string) {
  await page.click(`[data-testid=${control}]`);
  await page.waitForSelector(shown, { timeout: 30_000 });
}
const trafficOn = () =>
  clickUntil('traffic-toggle', '[data-testid=traffic-toggle]:has-text("Stop traffic")');
const trafficOff = () =>
  clickUntil('traffic-toggle', '[data-testid=traffic-toggle]:has-text("Send traffic")');
const clearFaults = () => clickUntil('faults-clear', '[data-testid=active-faults]:text-is("none")');
const pricesFail = () =>
  clickUntil('fault-prices-error', '[data-testid=active-faults]:has-text("prices: error")');

describe('the resilience tab', () => {
  it('When the supplier fails, then the prices breaker shows open with the reason, then half-open, then closed once the fault is cleared', async () => {
    await breakerIs('closed');
    await trafficOn();

    await pricesFail();
    await breakerIs('open');
    const decision = await page.textContent('[data-testid=decision-prices]');
    expect(decision).toMatch(/failure rate \d+% > 50% over \d+ calls/);
    expect(decision).toMatch(/half-open in \d+ s/);
    // The stock breaker guards another route: /availability keeps working.
    expect(await page.getAttribute('[data-testid=breaker-stock]', 'data-state')).toBe('closed');

    // Without traffic the breaker waits in half-open for its probe, so the page can show it.
    await trafficOff();
    await clearFaults();
    await breakerIs('half-open');

    await trafficOn();
    await breakerIs('closed');
    const transitions = await page.textContent('[data-testid=breaker-prices] table');
    expect(transitions).toContain('the half-open probe succeeded');
    await screenshot(page, 'resilience-lab/docs/console.png');
  });

  it('When the gateway is restarted while its breaker is open, then the history says so and the card shows the new process closed', async () => {
    await pricesFail();
    await breakerIs('open');
    // No traffic and no fault: nothing moves the breaker but the crash.
    await trafficOff();
    await clearFaults();
    await lab.restartGateway();

    const marker = await page.waitForSelector(
      '[data-testid=breaker-prices] tr:first-child:has-text("the gateway restarted")',
      { timeout: 30_000 },
    );
    expect(await marker.textContent()).toMatch(/(open|half-open) → closed/);
    expect(await page.getAttribute('[data-testid=breaker-prices]', 'data-state')).toBe('closed');
  });

  it('When the supplier is killed, then the page says it is not answering instead of listing no faults', async () => {
    await lab.supplier.kill();
    const down = await page.waitForSelector('[data-testid=supplier-down]', { timeout: 30_000 });
    expect(await down.textContent()).toContain('not answering');
    expect(await page.textContent('section')).toContain('Active supplier faults: unknown');
  });
});
