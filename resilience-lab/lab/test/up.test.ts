import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { expect, test } from 'vitest';
import { freePort, runLabCommand, waitFor, type StopWhenReady } from '@lab/shared/testkit';

const consoleEntry = new URL('../../../console/src/start.ts', import.meta.url).pathname;

/** Both services' /readyz answer 200. */
async function servicesReady(ports: number[]): Promise<boolean> {
  const answers = await Promise.all(
    ports.map((port) =>
      fetch(`http://127.0.0.1:${port}/readyz`).then(
        (res) => res.status === 200,
        () => false,
      ),
    ),
  );
  return answers.every(Boolean);
}

/**
 * `pnpm lab resilience up` stopped the ways a lab gets stopped: Ctrl-C in its terminal (SIGINT
 * to the whole group), a process manager's SIGTERM to the group, and `kill <pid>` or
 * `kill -INT <pid>` of the command alone. Each time both services stop gracefully and nothing outlives the command.
 */
const stops: [string, Pick<StopWhenReady, 'signal' | 'to'>][] = [
  ['Ctrl-C (SIGINT to its process group)', { signal: 'SIGINT', to: 'group' }],
  ['SIGTERM to its process group', { signal: 'SIGTERM', to: 'group' }],
  ['SIGTERM to the pnpm lab process alone', { signal: 'SIGTERM', to: 'dispatcher' }],
  ['SIGINT to the pnpm lab process alone', { signal: 'SIGINT', to: 'dispatcher' }],
];

test.each(stops)(
  'When `pnpm lab resilience up` is stopped by %s, then it exits 0 and leaves no process behind',
  async (_, how) => {
    // Arrange
    const [gatewayPort, supplierPort] = [await freePort(), await freePort()];
    const ready = () => servicesReady([gatewayPort, supplierPort]);

    // Act: stopped once the services answer and the command says so, as a user would
    const run = await runLabCommand(['resilience', 'up', '--console=false'], {
      env: { GATEWAY_PORT: String(gatewayPort), SUPPLIER_PORT: String(supplierPort) },
      timeoutMs: 60_000,
      stop: {
        ready: async ({ stdout }) => stdout.includes('Resilience lab is up') && (await ready()),
        ...how,
      },
    });

    // Assert
    expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('Resilience lab is up');
    expect(run.leftProcesses).toBe(false);
    expect(await ready()).toBe(false);
  },
  70_000,
);

test('When the console another lab started stops while this lab is up, then this lab starts its own and stops it when it stops', async () => {
  // Arrange: a console already answering, as another lab's `up` would have left it.
  const [gatewayPort, supplierPort, consolePort] = [
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const consoleUrl = `http://127.0.0.1:${consolePort}`;
  const consoleAnswers = () =>
    fetch(`${consoleUrl}/healthz`).then(
      async (res) => res.ok && ((await res.json()) as { service?: string }).service === 'console',
      () => false,
    );
  const other = spawn(process.execPath, [consoleEntry], {
    env: { ...process.env, PORT: String(consolePort), LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  try {
    await waitFor('the other lab console to answer', consoleAnswers, { timeoutMs: 30_000 });

    // Act: once this lab is up, the other lab (and its console) stops; this lab is stopped
    // with Ctrl-C once a console answers again.
    const run = await runLabCommand(['resilience', 'up'], {
      env: {
        GATEWAY_PORT: String(gatewayPort),
        SUPPLIER_PORT: String(supplierPort),
        CONSOLE_PORT: String(consolePort),
      },
      timeoutMs: 90_000,
      stop: {
        ready: async () => {
          if (!(await servicesReady([gatewayPort, supplierPort]))) return false;
          if (other.exitCode === null) {
            const exited = once(other, 'exit');
            other.kill('SIGTERM');
            await exited;
            return false;
          }
          return consoleAnswers();
        },
        signal: 'SIGINT',
        to: 'group',
      },
    });

    // Assert
    expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain(`console: ${consoleUrl} (already running)`);
    expect(run.stdout).toContain(
      `console: ${consoleUrl} (its lab stopped; this lab starts its own`,
    );
    expect(run.leftProcesses).toBe(false);
    expect(await consoleAnswers()).toBe(false);
  } finally {
    if (other.exitCode === null) other.kill('SIGKILL');
  }
}, 100_000);
