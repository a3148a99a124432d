/**
 * What the console's browser tests share: the console started as its own process against the
 * labs' URLs, and Debian's chromium driven by playwright-core (test tools may not download
 * browsers; the system package is installed by scripts/setup.sh).
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { serviceGroup, type SpawnedService } from '@lab/shared/testkit';

export const consoleEntry = join(import.meta.dirname, '..', 'src', 'start.ts');
export const repoRoot = join(import.meta.dirname, '..', '..');

/** Starts the console on a free port, pointed at the given lab URLs (CONSOLE_* variables). */
export async function startConsole(env: Record<string, string>): Promise<SpawnedService> {
  const group = serviceGroup({
    services: {
      console: {
        entry: consoleEntry,
        // As `pnpm lab <lab> up` and the compose file start it: see console/src/start.ts.
        telemetry: false,
        // A fast clock: the page follows the labs within a quarter second.
        env: { CONSOLE_POLL_MS: '250', LOG_LEVEL: 'warn', ...env },
      },
    },
    timeoutMs: 60_000,
  });
  return group.start('console');
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export async function openTab(browser: Browser, consoleUrl: string, tab: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${consoleUrl}/#${tab}`);
  await page.waitForSelector('[data-testid=live][data-connected=true]', { timeout: 30_000 });
  return page;
}

/**
 * The guides' pictures are taken by these tests, but written only when asked
 * (LAB_UPDATE_SCREENSHOTS=1), so an ordinary test run leaves the tree as it found it.
 */
export async function screenshot(page: Page, pathFromRoot: string): Promise<void> {
  if (process.env.LAB_UPDATE_SCREENSHOTS !== '1') return;
  const path = join(repoRoot, pathFromRoot);
  mkdirSync(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage: true });
}

/** The number a data-testid element shows, or NaN while it shows none. */
export async function numberIn(page: Page, testId: string): Promise<number> {
  const text = await page.textContent(`[data-testid=${testId}]`);
  return text === null || text.trim() === '' ? Number.NaN : Number(text.trim());
}

/**
 * The first trip the saga tab lists with `status`; on the deadline, the error names what the
 * page says instead.
 */
export async function tripWith(page: Page, status: string) {
  try {
    return await page.waitForSelector(`[data-testid^=trip-][data-status=${status}]`, {
      timeout: 60_000,
    });
  } catch (error) {
    const alert = await page.textContent('[role=alert]', { timeout: 1000 }).catch(() => null);
    throw new Error(`no ${status} trip on the page; it says: ${alert ?? '(no message)'}`, {
      cause: error,
    });
  }
}

/**
 * What a browser test file starts, stopped newest first by `stop` (its afterAll), and only
 * what it got to start: a lab the file hands over with `onStop`, then the console pointed at
 * it and Chromium on one of its tabs.
 */
export function browserTest() {
  const cleanups: (() => Promise<unknown>)[] = [];
  return {
    onStop: (cleanup: () => Promise<unknown>) => {
      cleanups.push(cleanup);
    },
    /** The console against the given lab URLs, and a page on `tab` that hears from it. */
    open: async (env: Record<string, string>, tab: string) => {
      const console = await startConsole(env);
      cleanups.push(console.stop);
      const browser = await launchBrowser();
      cleanups.push(() => browser.close());
      return { console, page: await openTab(browser, console.url, tab) };
    },
    stop: async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    },
  };
}
