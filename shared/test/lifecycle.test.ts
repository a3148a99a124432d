import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { spawnService, waitFor } from '../src/testkit/index.ts';

const fixture = new URL('./fixtures/echo-service.ts', import.meta.url).pathname;

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
    const service = await spawnService({ entry: fixture });
    const inFlight = fetch(`${service.url}/slow?ms=1500`);
    await waitFor('the slow request to start', () =>
      service.logs.some((l) => l.includes('slow request started')),
    );

    service.child.kill('SIGTERM');
    await waitFor('the listener to close', () => refused(service.port), {
      timeoutMs: 1000,
      intervalMs: 10,
    });
    expect(service.alive()).toBe(true);

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
    const res = await fetch(`${second.url}/readyz`);
    expect(res.status).toBe(200);
    await second.stop();
  });
});
