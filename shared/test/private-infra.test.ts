import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { startPrivateRedis, waitFor } from '../src/testkit/index.ts';

it('When a private redis-server was killed from outside, then stop() and destroy() return at once instead of waiting for an exit already past', async () => {
  const redis = await startPrivateRedis();
  try {
    const info = execFileSync('redis-cli', ['-p', String(redis.port), 'info', 'server'], {
      encoding: 'utf8',
    });
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    expect(pid).toBeGreaterThan(0);

    // Act: the cache node dies by a signal no one in this process sent.
    process.kill(pid, 'SIGKILL');
    await waitFor('the server gone', () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });

    // Assert: resolving at all is the point; before, this waited for ever.
    await expect(redis.stop()).resolves.toBeUndefined();
  } finally {
    await redis.destroy();
  }
});
