import { expect, test } from 'vitest';
import { freePort, runLabCommand, type StopWhenReady } from '@lab/shared/testkit';

/**
 * `pnpm lab resilience up` stopped the ways a lab gets stopped: Ctrl-C in its terminal (SIGINT
 * to the whole group), a process manager's SIGTERM to the group, and `kill <pid>` of the
 * command alone. Each time both services stop gracefully and nothing outlives the command.
 */
const stops: [string, Pick<StopWhenReady, 'signal' | 'to'>][] = [
  ['Ctrl-C (SIGINT to its process group)', { signal: 'SIGINT', to: 'group' }],
  ['SIGTERM to its process group', { signal: 'SIGTERM', to: 'group' }],
  ['SIGTERM to the pnpm lab process alone', { signal: 'SIGTERM', to: 'dispatcher' }],
];

test.each(stops)(
  'When `pnpm lab resilience up` is stopped by %s, then it exits 0 and leaves no process behind',
  async (_, how) => {
    // Arrange
    const [gatewayPort, supplierPort] = [await freePort(), await freePort()];
    const ready = async () => {
      const answers = await Promise.all(
        [gatewayPort, supplierPort].map((port) =>
          fetch(`http://127.0.0.1:${port}/readyz`).then(
            (res) => res.status === 200,
            () => false,
          ),
        ),
      );
      return answers.every(Boolean);
    };

    // Act
    const run = await runLabCommand(['resilience', 'up', '--console=false'], {
      env: { GATEWAY_PORT: String(gatewayPort), SUPPLIER_PORT: String(supplierPort) },
      timeoutMs: 60_000,
      stop: { ready, ...how },
    });

    // Assert
    expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('Resilience lab is up');
    expect(run.leftProcesses).toBe(false);
    expect(await ready()).toBe(false);
  },
  70_000,
);
