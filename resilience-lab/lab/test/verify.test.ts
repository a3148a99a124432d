import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { runLabCommand, waitFor } from '@lab/shared/testkit';
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
    // The supplier healed: after the reset timeout a quote is the half-open probe that closes it.
    const breakers = await waitFor('the prices breaker to close again', async () => {
      await (await fetch(`${lab.gateway.url}/quotes/v-probe`)).arrayBuffer();
      const seen = (await (await fetch(`${lab.gateway.url}/breakers`)).json()) as {
        prices: { state: string; transitions: { from: string; to: string }[] };
      };
      return seen.prices.transitions.length > 0 && seen.prices.state === 'closed'
        ? seen
        : undefined;
    });
    const path = breakers.prices.transitions.map((t) => `${t.from}>${t.to}`);
    expect(path[0]).toBe('closed>open');
    expect(path.at(-1)).toBe('half-open>closed');
    const empty = resultsDir();

    const { code, output } = await verify(['--gateway', lab.gateway.url, '--results', empty]);

    expect(output).toMatch(/checked breaker transitions/);
    expect(output).toMatch(/, 0 violations/);
    expect(code).toBe(0);
  });

  it('When a breaker has made more transitions than the gateway lists, then verify still passes the healthy gateway and /status counts every open', async () => {
    // Arrange: a breaker that opens on one failure and goes half-open 20 ms later, so each
    // failing probe is two more transitions, past the 100 the gateway keeps.
    const flapping = await startLab({
      gatewayEnv: {
        PROTECTIONS: 'breaker',
        BREAKER_VOLUME_THRESHOLD: '1',
        BREAKER_RESET_TIMEOUT_MS: '20',
      },
    });
    onTestFinished(flapping.stop);
    const gw = flapping.gateway.url;
    await supplierAdmin(flapping.supplier.url).chaos({ target: 'prices', faults: { error: 1 } });
    const opensTotal = async () => {
      const metrics = await (await fetch(`${gw}/metrics`)).text();
      return Number(
        /^gateway_breaker_opens_total\{dependency="prices"\} (\d+)$/m.exec(metrics)?.[1],
      );
    };

    // Act: failing quotes until the breaker has opened 60 times (120 transitions).
    await waitFor(
      'the prices breaker to open 60 times',
      async () => {
        await (await fetch(`${gw}/quotes/f-1`)).arrayBuffer();
        return (await opensTotal()) >= 60;
      },
      { timeoutMs: 30_000, intervalMs: 5 },
    );
    // No quote comes any more, so the breaker waits half-open for a probe: its counts hold still.
    const opens = await opensTotal();
    const breakers = (await (await fetch(`${gw}/breakers`)).json()) as {
      prices: { opens: number; droppedTransitions: number; transitions: unknown[] };
    };
    const status = (await (await fetch(`${gw}/status`)).json()) as {
      dependencies: { prices: { opens: number } };
    };
    const { code, output } = await verify(['--gateway', gw, '--results', resultsDir()]);

    // Assert
    expect(output).not.toMatch(/VIOLATION/);
    expect(output).toMatch(/, 0 violations/);
    expect(code).toBe(0);
    expect(status.dependencies.prices.opens).toBe(opens);
    expect(breakers.prices.opens).toBe(opens);
    expect(breakers.prices.transitions).toHaveLength(100);
    expect(breakers.prices.droppedTransitions).toBeGreaterThan(0);
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
