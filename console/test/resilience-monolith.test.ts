import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
// The tests drive a real lab; the console's own code never imports one (see .dependency-cruiser.mjs).
import { startMonolith, type RunningMonolith } from '../../resilience-lab/lab/src/services.ts';
import type { SpawnedService } from '@lab/shared/testkit';
import { browserTest } from './harness.ts';

let monolith: RunningMonolith;
let console: SpawnedService;
let page: Page;

const run = browserTest();

// Nothing listens on port 9: a console that sent the monolith's faults to a supplier service
// instead of the gateway's own /_chaos would see none of them take effect.
const nowhere = 'http://127.0.0.1:9';

beforeAll(async () => {
  monolith = await startMonolith();
  run.onStop(monolith.stop);
  ({ console, page } = await run.open(
    {
      CONSOLE_RESILIENCE_GATEWAY_URL: monolith.gateway.url,
      CONSOLE_RESILIENCE_SUPPLIER_URL: nowhere,
    },
    'resilience',
  ));
});
afterAll(run.stop);

describe('the resilience tab with the monolith', () => {
  it('When the supplier is a module called in-process, then the tab offers only the faults a function call can have, and one clicked takes effect', async () => {
    await page.waitForSelector('[data-testid=fault-prices-error]', { timeout: 30_000 });
    // No connection to reset and no supplier process to be down: the monolith refuses both.
    for (const fault of ['reset', 'down'])
      expect(await page.$(`[data-testid=fault-prices-${fault}]`), fault).toBeNull();
    expect(await page.$('[data-testid=fault-prices-hang]')).not.toBeNull();

    await page.click('[data-testid=fault-prices-error]');
    await page.waitForSelector('[data-testid=active-faults]:has-text("prices: error")', {
      timeout: 30_000,
    });
    expect(await page.$('[role=alert]')).toBeNull();
  });

  it('When the console stops while the page is open, then the page says it is reconnecting and marks what it shows as not current', async () => {
    expect(await page.$('main[data-stale=true]')).toBeNull();

    await console.stop();

    await page.waitForSelector('[data-testid=live][data-connected=false]', { timeout: 30_000 });
    await page.waitForSelector('main[data-stale=true] .stale-note', { timeout: 30_000 });
    // The last state stays on screen to read, under the note.
    expect(await page.$('[data-testid=fault-prices-error]')).not.toBeNull();
  });
});
