import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnService, waitFor, type SpawnedService } from '../src/testkit/index.ts';

const fixture = new URL('./fixtures/echo-service.ts', import.meta.url).pathname;
let service: SpawnedService;

beforeAll(async () => {
  service = await spawnService({ entry: fixture });
});
afterAll(async () => {
  await service.stop();
});

async function problemOf(res: Response) {
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = (await res.json()) as Record<string, unknown>;
  expect(body.status).toBe(res.status);
  expect(body.type).toBe(`urn:lab:problem:${String(body.code)}`);
  expect(body.traceId).toMatch(/^[0-9a-f]{32}$/);
  return body;
}

const post = (path: string, body: string, contentType = 'application/json') =>
  fetch(`${service.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });

describe('HTTP behaviour every service shares', () => {
  it('When the body is valid, then the route answers normally', async () => {
    const res = await post('/echo', JSON.stringify({ name: 'ada', count: 2 }));
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ greeting: 'hello', name: 'ada', count: 2 });
    // No hashed ETag: no client of the lab revalidates, so the SHA-1 of each answer is not spent.
    expect(res.headers.get('etag')).toBeNull();
  });

  it('When the JSON is malformed, then 400 malformed-json', async () => {
    const res = await post('/echo', '{"name": "ada",');
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.code).toBe('malformed-json');
    expect((problem.errors as { path: string }[]).map((e) => e.path)).toEqual(['body']);
  });

  it('When a compressed body is not what its Content-Encoding says, then 400 names the body, not a bare bad-request', async () => {
    const json = JSON.stringify({ name: 'ada', count: 2 });
    const send = (encoding: string, body: Uint8Array) =>
      fetch(`${service.url}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': encoding },
        body,
      });
    // The body-parser inflates what the header announces: the real thing is accepted.
    const gzipped = gzipSync(json);
    expect((await send('gzip', gzipped)).status).toBe(201);

    for (const [encoding, body] of [
      ['gzip', Buffer.from(json)],
      ['deflate', Buffer.from(json)],
      ['br', Buffer.from(json)],
      ['gzip', gzipped.subarray(0, 12)],
    ] as const) {
      const res = await send(encoding, body);
      expect(res.status, encoding).toBe(400);
      const problem = await problemOf(res);
      expect(problem.code, encoding).toBe('malformed-body');
      expect(problem.errors, encoding).toEqual([
        { path: 'body', message: `not valid ${encoding} data`, code: 'invalid_encoding' },
      ]);
    }

    // The limit counts the inflated bytes: a small gzip of a large body is still too large.
    const bomb = gzipSync(JSON.stringify({ name: ' '.repeat(1_000_000), count: 1 }));
    expect(bomb.length).toBeLessThan(2_000);
    const res = await send('gzip', bomb);
    expect(res.status).toBe(413);
    expect((await problemOf(res)).code).toBe('body-too-large');
  });

  it('When the body is valid JSON but not an object, then 400 names the body, not malformed JSON', async () => {
    for (const body of ['null', '"ada"', '5', 'true', '[]']) {
      const res = await post('/echo', body);
      expect(res.status, body).toBe(400);
      const problem = await problemOf(res);
      expect(problem.code, body).toBe('validation-failed');
      expect((problem.errors as { path: string }[]).map((e) => e.path)).toEqual(['body']);
    }
  });

  it('When the body is over the limit, then 413 before the handler runs', async () => {
    const res = await post('/echo', JSON.stringify({ name: 'x'.repeat(5000), count: 1 }));
    expect(res.status).toBe(413);
    expect((await problemOf(res)).code).toBe('body-too-large');
  });

  it('When the content type is not JSON, then 415', async () => {
    const res = await post('/echo', 'name=ada', 'application/x-www-form-urlencoded');
    expect(res.status).toBe(415);
    expect((await problemOf(res)).code).toBe('unsupported-media-type');
  });

  it('When fields are invalid, then 400 lists every field with its path', async () => {
    const res = await post('/echo', JSON.stringify({ name: '', count: -1 }));
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.code).toBe('validation-failed');
    const paths = (problem.errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(['body.count', 'body.name']);
  });

  it('When a path parameter is not valid percent-encoding, then 400 names the parameters, not 500 or a bare bad-request', async () => {
    const decoded = await fetch(`${service.url}/items/caf%C3%A9`);
    expect(await decoded.json()).toEqual({ id: 'café' });

    for (const id of ['%E0%A4%A', '%ZZ', '%ED%A0%80']) {
      const res = await fetch(`${service.url}/items/${id}`);
      expect(res.status, id).toBe(400);
      const problem = await problemOf(res);
      expect(problem.code).toBe('validation-failed');
      expect(problem.errors).toEqual([
        { path: 'params', message: 'not valid percent-encoding', code: 'invalid_format' },
      ]);
    }
  });

  it('When Node refuses the request before any route sees it, then the answer is still a problem document', async () => {
    // Raw bytes: fetch would not send an unknown method or an oversized header.
    const raw = (head: string) =>
      new Promise<string>((resolve, reject) => {
        const { port } = new URL(service.url);
        const socket = connect(Number(port), '127.0.0.1', () => socket.end(head));
        let answer = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (answer += chunk));
        socket.on('close', () => {
          resolve(answer);
        });
        socket.on('error', reject);
      });
    for (const [head, status, code] of [
      [
        `GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
        431,
        'headers-too-large',
      ],
      ['FOO /echo HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'malformed-request'],
      ['POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400, 'malformed-request'],
    ] as const) {
      const answer = await raw(head);
      const [statusLine, ...rest] = answer.split('\r\n');
      expect(statusLine, head.slice(0, 20)).toBe(
        `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}`,
      );
      expect(rest).toContain('Content-Type: application/problem+json');
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({
        status,
        code,
      });
    }
  });

  it('When the route does not exist, then 404 problem+json', async () => {
    const res = await fetch(`${service.url}/nowhere`);
    expect(res.status).toBe(404);
    expect((await problemOf(res)).code).toBe('route-not-found');
  });

  it('When the path exists but not with that method, then 405 with the methods it takes in Allow', async () => {
    for (const method of ['DELETE', 'PUT', 'PATCH']) {
      const res = await fetch(`${service.url}/echo`, { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow'), method).toBe('POST');
      const problem = await problemOf(res);
      expect(problem.code).toBe('method-not-allowed');
      expect(problem.detail).toBe(`/echo does not take ${method}; it takes POST.`);
    }
    const readiness = await fetch(`${service.url}/readyz`, { method: 'POST' });
    expect(readiness.status).toBe(405);
    expect(readiness.headers.get('allow')).toBe('GET, HEAD');
  });

  it('When a handler throws an unknown error, then 500 without its message or stack', async () => {
    const res = await fetch(`${service.url}/boom`);
    expect(res.status).toBe(500);
    const text = JSON.stringify(await problemOf(res));
    expect(text).not.toContain('hunter2');
    expect(text).not.toMatch(/at .*\.ts:\d+/);
  });

  it('When probed, then /healthz, /readyz and /metrics answer, and refuse a query, naming it', async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${service.url}/readyz`);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { postgres: 'up', redis: 'up' },
    });
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain('http_server_request_duration_seconds_bucket');
    expect(metrics).toContain('nodejs_eventloop_lag');
    for (const probe of ['healthz', 'readyz', 'metrics']) {
      const asked = await fetch(`${service.url}/${probe}?verbose=1`);
      expect(asked.status, probe).toBe(400);
      expect(asked.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const { errors } = (await asked.json()) as { errors: { path: string }[] };
      expect(errors.map((e) => e.path)).toEqual(['query']);
    }
  });

  it('When it logs inside a request, then the line carries trace_id and span_id', async () => {
    await fetch(`${service.url}/slow?ms=1`);
    // The response can overtake the log line on its way through the child's stdout pipe.
    const line = await waitFor(
      'the request log line',
      () => service.logs.find((l) => l.includes('slow request started')),
      { timeoutMs: 10_000, intervalMs: 10 },
    );
    const record = JSON.parse(line) as Record<string, unknown>;
    expect(record.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(record.span_id).toMatch(/^[0-9a-f]{16}$/);
  });
});
