import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { runLabCommand } from '@lab/shared/testkit';
import { startLab, type RunningLab } from '../src/services.ts';
import { supplierAdmin } from '../src/client.ts';

/** A results directory for one test, removed when the test ends. */
function resultsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'resilience-verify-'));
  onTestFinished(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

let lab: RunningLab;

/**
 * `pnpm lab resilience verify <args>` in its own process group, SIGKILLed at a deadline that
 * comes before the test's, so a stuck run fails with its output and leaves nothing running.
 */
async function verify(args: string[]): Promise<{ code: number | null; output: string }> {
  const run = await runLabCommand(['resilience', 'verify', ...args], { timeoutMs: 45_000 });
  return { code: run.code, output: run.stdout + run.stderr };
}

beforeAll(async () => {
  lab = await startLab({
    gatewayEnv: { BREAKER_VOLUME_THRESHOLD: '5', BREAKER_RESET_TIMEOUT_MS: '300' },
  });
});
afterAll(async () => {
  await lab.stop();
});

describe('pnpm lab resilience verify', () => {
  it('When a live gateway has opened and closed its breaker under load, then its transitions and bulkhead bounds pass the audit', async () => {
    const supplier = supplierAdmin(lab.supplier.url);
    await supplier.chaos({ target: 'prices', faults: { error: 1 } });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => fetch(`${lab.gateway.url}/quotes/v-${i}`)),
    );
    await supplier.clear('prices');
    const breakers = (await (await fetch(`${lab.gateway.url}/breakers`)).json()) as {
      prices: { transitions: unknown[] };
    };
    expect(breakers.prices.transitions.length).toBeGreaterThanOrEqual(1);
    const empty = resultsDir();

    const { code, output } = await verify(['--gateway', lab.gateway.url, '--results', empty]);

    expect(output).toMatch(/checked breaker transitions/);
    expect(output).toMatch(/, 0 violations/);
    expect(code).toBe(0);
  });

  it('When an experiment result shows unbounded in-flight calls with protections on, then verify reports it and exits 1', async () => {
    const dir = resultsDir();
    const headline = {
      maxGatewayInFlight: 57,
      retryAmplification: 1,
      breakerOpens: 0,
      timeToOpenMs: null,
      availabilitySuccessDuringFault: 0.4,
    };
    writeFileSync(
      join(dir, 'cascade.json'),
      JSON.stringify({ experiment: 'cascade', variants: [{ name: 'protected', headline }] }),
    );

    const { code, output } = await verify(['--gateway', 'http://127.0.0.1:9', '--results', dir]);

    expect(code).toBe(1);
    expect(output).toMatch(/VIOLATION cascade\/protected: 57 calls in flight/);
    expect(output).toMatch(/VIOLATION cascade\/protected: \/availability success 0.4/);
  });

  it('When no gateway answers and there are no experiment results, then verify says there was nothing to check and exits 2', async () => {
    const { code, output } = await verify([
      '--gateway',
      'http://127.0.0.1:9',
      '--results',
      join(resultsDir(), 'none'),
    ]);

    expect(output).toMatch(/nothing to check/);
    expect(code).toBe(2);
  });
});
