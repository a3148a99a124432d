import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { POLL_HEADER, traceExportFromEnv, type SpanRecord } from '../src/telemetry/index.ts';
import { serviceNodeArgs, spawnService, waitFor } from '../src/testkit/index.ts';

const fixture = new URL('./fixtures/echo-service.ts', import.meta.url).pathname;
const register = new URL('../src/telemetry/register.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'spans-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const spansIn = (path: string): SpanRecord[] =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as SpanRecord)
    : [];

describe('trace export', () => {
  it('When a service starts with a misspelt LAB_TRACE_EXPORT or an endpoint that is not a URL, then it exits 1 naming each, instead of running without traces', () => {
    const result = spawnSync(process.execPath, ['--import', register, fixture], {
      env: { ...process.env, LAB_TRACE_EXPORT: 'zipkn', ZIPKIN_ENDPOINT: '127.0.0.1:9411' },
      encoding: 'utf8',
      timeout: 20_000,
    });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('LAB_TRACE_EXPORT: expected otlp, zipkin or none');
    expect(result.stderr).toContain('ZIPKIN_ENDPOINT:');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('When a service asks for LAB_TRACE_EXPORT=file:, then only the test kit honours it: the service register ignores it and the kit loads its own', () => {
    const env = { LAB_TRACE_EXPORT: `file:${join(dir, 'x.jsonl')}` };
    expect(traceExportFromEnv(env)).toBe('none');
    expect(serviceNodeArgs(fixture, env).join(' ')).toContain('testkit/trace-file-register.ts');
    expect(serviceNodeArgs(fixture, {}).join(' ')).toContain('telemetry/register.ts');
  });

  it('When the test kit starts a service with LAB_TRACE_EXPORT=file:, then each request is one JSON line per span in that file', async () => {
    const path = join(dir, 'echo.jsonl');
    const service = await spawnService({
      entry: fixture,
      env: { LAB_TRACE_EXPORT: `file:${path}`, OTEL_SERVICE_NAME: 'echo-traced' },
    });
    try {
      const res = await fetch(`${service.url}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'ada', count: 1 }),
      });
      expect(res.status).toBe(201);
      const server = await waitFor('the server span in the file', () =>
        spansIn(path).find((s) => s.kind === 'SERVER' && s.service === 'echo-traced'),
      );
      expect(server.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(server.attributes['http.route']).toBe('/echo');
    } finally {
      await service.stop();
    }
  });

  it("When a request is marked as a watcher's poll, then the service records no span for it, and still answers it", async () => {
    const path = join(dir, 'polled.jsonl');
    const service = await spawnService({
      entry: fixture,
      env: { LAB_TRACE_EXPORT: `file:${path}`, OTEL_SERVICE_NAME: 'echo-polled' },
    });
    const echo = (headers: Record<string, string>) =>
      fetch(`${service.url}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ name: 'ada', count: 1 }),
      });
    try {
      // Act: a poll, then an ordinary request; the second's span is written after the first's
      // would have been.
      expect((await echo({ [POLL_HEADER]: 'console' })).status).toBe(201);
      expect((await echo({})).status).toBe(201);

      // Assert
      await waitFor("the ordinary request's span in the file", () =>
        spansIn(path).some((s) => s.kind === 'SERVER'),
      );
      expect(spansIn(path).filter((s) => s.kind === 'SERVER')).toHaveLength(1);
    } finally {
      await service.stop();
    }
  });
});
