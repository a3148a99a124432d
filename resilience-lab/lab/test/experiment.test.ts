import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { ExperimentResult } from '../src/experiments/run-experiment.ts';

const cli = new URL('../src/cli.ts', import.meta.url).pathname;

function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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

describe('experiment cascade --quick', () => {
  it(
    'When prices turn slow, then with protections /availability keeps >= 99% success and in-flight stays bounded, and without them it degrades',
    { timeout: 180_000 },
    async () => {
      // Arrange
      const out = mkdtempSync(join(tmpdir(), 'resilience-cascade-'));
      onTestFinished(() => {
        rmSync(out, { recursive: true, force: true });
      });

      // Act
      const { code, output } = await runCli(['experiment', 'cascade', '--quick', '--out', out]);

      // Assert
      expect(code, output).toBe(0);
      expect(output).toMatch(/\[protected\] t=\d+s/);
      const result = JSON.parse(
        readFileSync(join(out, 'cascade.json'), 'utf8'),
      ) as ExperimentResult;
      const unprotected = result.variants.find((v) => v.name === 'unprotected')!.headline;
      const protectedRun = result.variants.find((v) => v.name === 'protected')!;
      const guarded = protectedRun.headline;
      // What failed, phase by phase, and how far the machine itself lagged: a failed check says why.
      const why = JSON.stringify({
        failures: protectedRun.phases.filter((p) => Object.keys(p.failures).length > 0),
        generatorLagP99Ms: guarded.generatorLagP99Ms,
      });

      expect(guarded.availabilitySuccessDuringFault, why).toBeGreaterThanOrEqual(0.99);
      // Bounded by the two bulkheads (5 concurrent calls each), whatever the arrival rate.
      expect(guarded.maxGatewayInFlight).toBeLessThanOrEqual(10);

      expect(unprotected.availabilitySuccessDuringFault).toBeLessThan(0.9);
      expect(unprotected.maxGatewayInFlight).toBeGreaterThan(3 * guarded.maxGatewayInFlight);
      expect(unprotected.zombieWorkMs).toBeGreaterThan(guarded.zombieWorkMs);

      expect(readFileSync(join(out, 'cascade.svg'), 'utf8')).toMatch(
        /^<svg[\s\S]*polyline[\s\S]*<\/svg>\n$/,
      );
      expect(existsSync(join(out, 'cascade.md'))).toBe(true);
    },
  );
});
