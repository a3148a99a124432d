import { spawn, spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, env, parseConfig } from '../src/config.ts';

const fixture = new URL('./fixtures/echo-service.ts', import.meta.url).pathname;
const repoRoot = join(import.meta.dirname, '..', '..');

/** Runs a service's entry point to its exit (killed after 60 s), with its stderr. */
function runToExit(entry: string, env: Record<string, string>) {
  return new Promise<{ entry: string; code: number | string | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, entry)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 60_000,
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (code, signal) => {
      // A kill at the deadline shows as its signal, not as a bare null.
      resolve({ entry, code: code ?? signal, stderr });
    });
  });
}

describe('config', () => {
  it('When several variables are bad, then one error names each of them and what it expects', () => {
    const schema = z.object({
      PORT: env.port(3000),
      DATABASE_URL: env.databaseUrl(),
      KAFKA_BROKERS: env.kafkaBrokers(),
    });
    const attempt = () =>
      parseConfig('svc', schema, {
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        KAFKA_BROKERS: 'no-port',
      });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const { issues, message } = error as ConfigError;
      expect(issues).toHaveLength(3);
      expect(message).toMatch(/PORT: .*got "eighty"/);
      expect(message).toMatch(/DATABASE_URL: .*got "mysql:\/\/x"/);
      expect(message).toMatch(/KAFKA_BROKERS.*host:port/);
    }
  });

  it('When nothing is set, then the defaults of `pnpm infra:local` apply', () => {
    const config = parseConfig(
      'svc',
      z.object({ REDIS_URL: env.redisUrl(), KAFKA_BROKERS: env.kafkaBrokers() }),
      {},
    );
    expect(config).toEqual({
      REDIS_URL: 'redis://127.0.0.1:6379',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
    });
  });

  it('When a service starts with bad settings, then it exits 1 with a readable message and no stack trace', () => {
    const result = spawnSync(process.execPath, [fixture], {
      env: { ...process.env, PORT: '-1', REDIS_URL: 'http://nope', GREETING: '' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid configuration for echo-service');
    for (const name of ['PORT', 'REDIS_URL', 'GREETING'])
      expect(result.stderr).toContain(`${name}:`);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('When a service starts on a port another process holds, then it exits 1 with one line naming the port and no stack trace', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = holder.address() as AddressInfo;
      const result = spawnSync(process.execPath, [fixture], {
        env: { ...process.env, PORT: String(port) },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr).toContain(
        `Cannot listen on 127.0.0.1:${port}: the port is already in use`,
      );
      expect(result.stderr).not.toMatch(/^\s+at /m);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it(
    'When any lab service or the console starts with a misspelt LOG_LEVEL, then it exits 1 naming LOG_LEVEL, before it logs a line',
    { timeout: 240_000 },
    async () => {
      const entries = globSync(['*/*/src/start.ts', 'console/src/start.ts'], { cwd: repoRoot });
      expect(entries.length).toBeGreaterThanOrEqual(15);
      // Four at a time: seventeen Node processes starting at once on a busy 2-core machine can
      // take longer to load their modules than any deadline meant for one.
      const results: Awaited<ReturnType<typeof runToExit>>[] = [];
      for (let i = 0; i < entries.length; i += 4)
        results.push(
          ...(await Promise.all(
            entries.slice(i, i + 4).map((e) => runToExit(e, { LOG_LEVEL: 'verbose' })),
          )),
        );
      for (const { entry, code, stderr } of results) {
        expect({ entry, code }).toEqual({ entry, code: 1 });
        expect(stderr, entry).toContain('LOG_LEVEL:');
        expect(stderr, entry).not.toMatch(/^\s+at /m);
      }
    },
  );
});
