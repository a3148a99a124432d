import { spawn } from 'node:child_process';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { reportEarlyExits } from '../src/testkit/index.ts';

/** A process that runs until it is killed, and the promise of its exit. */
function service() {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  return { child, exited };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a lab that is up', () => {
  test('When a service is killed before the lab is stopped, then up says which one and how to start it again', async () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const projector = service();
    const query = service();
    // A stop the user never asks for.
    const never = new Promise<void>(() => undefined);
    reportEarlyExits({ projector, query }, never, 'up again');

    projector.child.kill('SIGKILL');
    await projector.exited;
    query.child.kill('SIGKILL');
    await query.exited;

    const notices = written.join('');
    expect(notices).toMatch(
      /projector exited \(SIGKILL\); the other services keep running\. To start it again: up again/,
    );
    expect(notices).toMatch(/query exited \(SIGKILL\)/);
  });

  test('When the lab is being stopped, then its services exiting is not reported', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const relay = service();
    reportEarlyExits({ relay }, Promise.resolve(), 'up again');
    // The stop request settles first, as a Ctrl-C reaches the CLI with its services.
    await Promise.resolve();

    relay.child.kill('SIGTERM');
    await relay.exited;

    expect(write).not.toHaveBeenCalled();
  });
});
