import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runLabCommand } from '@lab/shared/testkit';
import type { ExperimentResult } from '../src/experiments/run-experiment.ts';

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
      // Its own process group, SIGKILLed (with the gateway and supplier it started) at a deadline
      // that comes before the test's, so a stuck run fails with its output and leaves nothing.
      const { code, stdout, stderr } = await runLabCommand(
        ['resilience', 'experiment', 'cascade', '--quick', '--out', out],
        { timeoutMs: 170_000 },
      );
      const output = stdout + stderr;

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
