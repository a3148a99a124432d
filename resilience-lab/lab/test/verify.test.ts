import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
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

const cli = new URL('../src/cli.ts', import.meta.url).pathname;
let lab: RunningLab;

function verify(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'verify', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // 'close', not 'exit': a process can exit before its pipes are drained, and the
    // assertions read the output's last lines.
    child.once('close', (code) => {
      resolve({ code, output });
    });
  });
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
