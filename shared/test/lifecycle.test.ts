import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { ANNOUNCE_ENV, own, spawnService, uniqueName, waitFor } from '../src/testkit/index.ts';

const fixture = new URL('./fixtures/echo-service.ts', import.meta.url).pathname;
const oneShot = new URL('./fixtures/one-shot-service.ts', import.meta.url).pathname;
const spawner = new URL('./fixtures/spawner.ts', import.meta.url).pathname;
const exitWithParent = new URL('../src/testkit/exit-with-parent.ts', import.meta.url).pathname;
const redisUrl = process.env.REDIS_URL ?? '';
const redis = new Redis(redisUrl);

afterAll(async () => {
  await redis.quit();
});

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code === 'ECONNREFUSED');
    });
  });
}

describe('service lifecycle', () => {
  it('When SIGTERM arrives during a slow request, then it completes, new connections are refused and the exit code is 0', async () => {
    // The request is held until the test sets this key, so it is still in flight for as long
    // as the drain takes to show, however slowly a loaded machine gets there.
    const release = `${uniqueName('lifecycle_release')}:go`;
    own({ redis: { url: redisUrl, keyPrefixes: [release] } });
    const service = await spawnService({ entry: fixture });
    // Already exited when the test passes; SIGKILL otherwise, as its held request never ends.
    onTestFinished(() => service.kill());
    let settled = false;
    const inFlight = fetch(`${service.url}/slow?ms=1500&until=${encodeURIComponent(release)}`);
    void inFlight.then(
      () => (settled = true),
      () => (settled = true),
    );
    await waitFor('the slow request to reach its handler', async () => {
      const res = await fetch(`${service.url}/slow/in-flight`);
      return ((await res.json()) as { inFlight: number }).inFlight === 1;
    });

    service.child.kill('SIGTERM');
    await waitFor('the listener to close', () => refused(service.port), { intervalMs: 10 });
    // Draining, not stopped: the listener is closed while the request it accepted still runs.
    expect(service.alive()).toBe(true);
    expect(settled, 'the in-flight request ended before the test let it').toBe(false);

    await redis.set(release, '1');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ waitedMs: 1500 });
    expect(await service.exited).toBe(0);
  });

  it('When a service is SIGKILLed, then the test kit sees it gone, and a restart is ready again', async () => {
    const env = { GREETING: 'again' };
    const first = await spawnService({ entry: fixture, env });
    await first.kill();
    expect(first.alive()).toBe(false);
    expect(first.child.signalCode).toBe('SIGKILL');
    expect(await refused(first.port)).toBe(true);

    const second = await spawnService({ entry: fixture, env, port: first.port });
    try {
      const res = await fetch(`${second.url}/readyz`);
      expect(res.status).toBe(200);
    } finally {
      await second.stop();
    }
  });

  it('When a service logs nothing but warnings, then the test kit still finds it and waits for /readyz', async () => {
    const service = await spawnService({ entry: fixture, env: { LOG_LEVEL: 'warn' } });
    try {
      expect(service.logs.some((l) => l.includes('"listening"'))).toBe(false);
      const res = await fetch(`${service.url}/readyz`);
      expect(res.status).toBe(200);
    } finally {
      await service.stop();
    }
  });

  it('When a service dies during start-up, then the error says how and shows its last log lines', async () => {
    const failing = spawnService({ entry: fixture, env: { GREETING: '' } });

    await expect(failing).rejects.toThrow(/exited with code 1[\s\S]*GREETING/);
  });

  it('When a service has nothing left to do, then neither the IPC channel nor the stdin guard keeps it alive', async () => {
    const child = spawn(process.execPath, ['--import', exitWithParent, oneShot], {
      env: { ...process.env, [ANNOUNCE_ENV]: 'ipc' },
      stdio: ['pipe', 'inherit', 'inherit', 'ipc'],
    });
    const announced = new Promise<unknown>((resolve) => child.once('message', resolve));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

    const message = (await announced) as { type?: string; url?: string };
    expect(message.type).toBe('listening');
    expect(message.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await exited).toBe(0);
  });

  it('When the process that spawned a service is SIGKILLed, then the service dies with it', async () => {
    const parent = spawn(process.execPath, [spawner], { stdio: ['ignore', 'pipe', 'inherit'] });
    // A failure before the SIGKILL below; its service then dies with it, as the test shows.
    onTestFinished(() => {
      if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
    });
    let out = '';
    parent.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const { pid } = await waitFor(
      'the spawner to report its service',
      () => {
        const line = out.split('\n').find((l) => l.startsWith('{'));
        return line ? (JSON.parse(line) as { pid: number }) : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(gone(pid)).toBe(false);

    parent.kill('SIGKILL');

    await waitFor('the orphaned service to exit', () => gone(pid), { timeoutMs: 10_000 });
  });
});
