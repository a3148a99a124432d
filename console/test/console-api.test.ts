import { createServer } from 'node:http';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor, type SpawnedService } from '@lab/shared/testkit';
import { startConsole } from './harness.ts';

let console: SpawnedService;

/** What beforeAll started, so afterAll stops exactly that, even after a half-done start. */
const cleanups: (() => Promise<unknown>)[] = [];

/** Every lab address a port nobody listens on: the console must say so, not fail. */
async function labsNowhere(): Promise<Record<string, string>> {
  const nowhere = `http://127.0.0.1:${await freePort()}`;
  const env: Record<string, string> = {};
  for (const name of [
    'RESILIENCE_GATEWAY',
    'RESILIENCE_SUPPLIER',
    'SAGA_ORCHESTRATOR',
    'SAGA_FLIGHTS',
    'SAGA_HOTELS',
    'SAGA_CARS',
    'SAGA_PAYMENTS',
    'CQRS_COMMAND',
    'CQRS_QUERY',
    'CQRS_RELAY',
    'CQRS_PROJECTOR',
  ])
    env[`CONSOLE_${name}_URL`] = nowhere;
  return env;
}

beforeAll(async () => {
  console = await startConsole(await labsNowhere());
  cleanups.push(console.stop);
});
afterAll(async () => {
  // Newest first, and only what beforeAll got to start.
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const send = async (method: string, path: string, body?: unknown, type = 'application/json') => {
  const res = await fetch(`${console.url}${path}`, {
    method,
    headers: { 'content-type': type },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as { code?: string; errors?: { path: string }[] },
  };
};

describe("the console's own API", () => {
  it('When a request names something the console does not know, then 400 problem+json names each bad field', async () => {
    for (const [path, body, fields] of [
      ['/api/resilience/faults', { target: 'x' }, ['body.target', 'body.fault']],
      ['/api/resilience/traffic', { perSecond: 100 }, ['body.perSecond']],
      ['/api/saga/trips', { soldOut: 'trains' }, ['body.soldOut']],
      ['/api/saga/faults', { participant: 'hotels', fault: 'explode' }, ['body.fault']],
      ['/api/saga/faults', { participant: 'hotels', fault: 'reject', extra: 1 }, ['body']],
      // Payments holds no inventory: a trip cannot find it sold out.
      ['/api/saga/trips', { soldOut: 'payments' }, ['body.soldOut']],
    ] as const) {
      const res = await send('POST', path, body);
      expect(res.status, path).toBe(400);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect(res.body.errors?.map((e) => e.path)).toEqual(fields);
    }
  });

  it('When an action that takes no input is sent some, then 400 names the body or query, and the lab is never asked', async () => {
    // The labs are nowhere: an action that went ahead would answer 503 lab-unreachable.
    for (const [method, path, body, field] of [
      ['DELETE', '/api/resilience/faults', { target: 'prices' }, 'body'],
      ['DELETE', '/api/resilience/faults?target=prices', undefined, 'query'],
      ['DELETE', '/api/saga/faults', { participant: 'hotels' }, 'body'],
      ['POST', '/api/cqrs/orders', { quantity: 5 }, 'body'],
      ['GET', '/api/cqrs/dead-letters?limit=abc', undefined, 'query'],
      ['GET', '/api/state?lab=saga', undefined, 'query'],
      ['POST', '/api/cqrs/dead-letters/replays', { ids: [1] }, 'body'],
      [
        'POST',
        '/api/saga/trips/00000000-0000-4000-8000-000000000000/compensate',
        { force: true },
        'body',
      ],
    ] as const) {
      const res = await send(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect(res.body.errors?.map((e) => e.path)).toEqual([field]);
    }
  });

  it('When the body is not JSON or the trip id is not one, then 415 and 404 problem+json', async () => {
    expect((await send('POST', '/api/saga/trips', 'soldOut=hotels', 'text/plain')).status).toBe(
      415,
    );
    const notATrip = await send('POST', '/api/saga/trips/42/retry-compensation');
    expect(notATrip.status).toBe(404);
    expect(notATrip.body.errors?.map((e) => e.path)).toEqual(['params.id']);
    const notATripToCompensate = await send('POST', '/api/saga/trips/42/compensate');
    expect(notATripToCompensate.status).toBe(404);
    expect(notATripToCompensate.body.errors?.map((e) => e.path)).toEqual(['params.id']);
  });

  it('When the lab an action needs is not running, then 503 lab-unreachable with Retry-After, and the state says the lab is down', async () => {
    const res = await send('POST', '/api/saga/trips', {});

    expect(res.status).toBe(503);
    expect(res.body.code).toBe('lab-unreachable');
    expect(res.retryAfter).toBe('1');
    expect((await send('GET', '/api/cqrs/dead-letters')).status).toBe(503);
    const state = (await (await fetch(`${console.url}/api/state`)).json()) as Record<
      string,
      { up?: boolean }
    >;
    expect([state.resilience?.up, state.saga?.up, state.cqrs?.up]).toEqual([false, false, false]);
  });

  it("When a lab answers but with a body the console cannot use, then 500 internal: the console's failure, not a lab to wait for", async () => {
    // Arrange: saga services that answer every request 200 with `null` for a body.
    const lab = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('null');
    });
    lab.listen(0, '127.0.0.1');
    await once(lab, 'listening');
    cleanups.push(() => new Promise((resolve) => lab.close(resolve)));
    const url = `http://127.0.0.1:${(lab.address() as { port: number }).port}`;
    const misled = await startConsole({
      ...(await labsNowhere()),
      ...Object.fromEntries(
        ['ORCHESTRATOR', 'FLIGHTS', 'HOTELS', 'CARS', 'PAYMENTS'].map((s) => [
          `CONSOLE_SAGA_${s}_URL`,
          url,
        ]),
      ),
    });
    cleanups.push(misled.stop);

    // Act: booking reads the new inventory's id from a body that has none.
    const res = await fetch(`${misled.url}/api/saga/trips`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });

    // Assert
    expect(res.status).toBe(500);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(((await res.json()) as { code?: string }).code).toBe('internal');
  });

  it('When a page file or library is asked for that the page does not have, then 404 problem+json, whatever the name', async () => {
    for (const path of [
      '/web/nope.ts',
      '/web/app.ts',
      '/vendor/nope.js',
      // Names every plain object inherits: a lookup in an object literal would find them.
      '/vendor/__proto__',
      '/vendor/constructor',
      '/vendor/toString',
    ]) {
      const res = await fetch(`${console.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
      await res.arrayBuffer();
    }
    const page = await fetch(`${console.url}/web/main.ts`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/javascript/);
    await page.arrayBuffer();
  });

  it('When the event stream is asked with HEAD, then its headers come and the answer ends', async () => {
    const res = await fetch(`${console.url}/api/events`, {
      method: 'HEAD',
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
  });

  it('When asked for its health, then it names itself, so `pnpm lab <lab> up` can tell it from another server on port 3000', async () => {
    const res = await fetch(`${console.url}/healthz`);
    expect(await res.json()).toEqual({ status: 'alive', service: 'console' });
  });
});

describe("the console's clock", () => {
  it('When no page is open, then it polls the labs at the idle interval; a page or an API read brings the watched interval back', async () => {
    // Arrange: a relay that records when it is asked for its status.
    const polls: number[] = [];
    const relay = createServer((req, res) => {
      if (req.url === '/status') polls.push(Date.now());
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          outbox: { backlog: 0, oldestUnpublishedAgeMs: null },
          publishedSinceStart: 0,
          topic: { name: 'cqrs.events', reachable: true, partitions: [], events: 0 },
        }),
      );
    });
    relay.listen(0, '127.0.0.1');
    await once(relay, 'listening');
    cleanups.push(() => new Promise((resolve) => relay.close(resolve)));
    const { port } = relay.address() as { port: number };
    const watchedMs = 250;
    const idleMs = 8000;
    const clock = await startConsole({
      ...(await labsNowhere()),
      CONSOLE_CQRS_RELAY_URL: `http://127.0.0.1:${port}`,
      CONSOLE_POLL_MS: String(watchedMs),
      CONSOLE_IDLE_POLL_MS: String(idleMs),
    });
    cleanups.push(clock.stop);
    await waitFor('the first poll', () => polls.length >= 1);

    // Act 1: a page subscribes. Unwatched, four polls would take four idle intervals.
    const page = new AbortController();
    const events = await fetch(`${clock.url}/api/events`, { signal: page.signal });
    const before = polls.length;
    await waitFor('four polls while a page watches', () => polls.length >= before + 4, {
      timeoutMs: idleMs - 2000,
    });

    // Act 2: the page goes away.
    page.abort();
    await events.body?.cancel().catch(() => undefined);
    const watchedEnd = polls.length;
    await waitFor('two polls after the page closed', () => polls.length >= watchedEnd + 2, {
      timeoutMs: 4 * idleMs,
    });

    // Assert: once nobody watched, polls came an idle interval apart (a busy machine can only
    // stretch that gap, never shorten it).
    const idleGap = (polls.at(-1) ?? 0) - (polls.at(-2) ?? 0);
    expect(idleGap).toBeGreaterThanOrEqual(idleMs / 2);

    // Act 3 and assert: an API client reading the state counts as watching too.
    const state = (await (await fetch(`${clock.url}/api/state`)).json()) as {
      cqrs?: { up?: boolean };
    };
    expect(state.cqrs?.up).toBe(true);
    const asked = polls.length;
    await waitFor('four polls after an API read', () => polls.length >= asked + 4, {
      timeoutMs: idleMs - 2000,
    });
  }, 90_000);
});
