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
  // Newest first, and only what was started; every one runs even when an earlier one fails, so
  // a failed test leaves no fake lab listening in this worker.
  const results = [];
  for (const cleanup of cleanups.reverse()) results.push(await Promise.allSettled([cleanup()]));
  const failed = results.flat().find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
});

/** A fake lab on a free port: `answer` handles every request. Closed after the file. */
async function fakeLab(answer: Parameters<typeof createServer>[1]): Promise<string> {
  const lab = createServer(answer);
  lab.listen(0, '127.0.0.1');
  await once(lab, 'listening');
  cleanups.push(
    () =>
      new Promise((resolve) => {
        lab.closeAllConnections();
        lab.close(resolve);
      }),
  );
  return `http://127.0.0.1:${(lab.address() as { port: number }).port}`;
}

const send = async (
  method: string,
  path: string,
  body?: unknown,
  type = 'application/json',
  base = console.url,
) => {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': type },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as { code?: string; detail?: string; errors?: { path: string }[] },
  };
};

/** A supplier fault asked of a console whose resilience lab (gateway and supplier) is `lab`. */
async function faultThrough(lab: string, env: Record<string, string> = {}) {
  const through = await startConsole({
    ...(await labsNowhere()),
    CONSOLE_RESILIENCE_SUPPLIER_URL: lab,
    CONSOLE_RESILIENCE_GATEWAY_URL: lab,
    ...env,
  });
  cleanups.push(through.stop);
  return send(
    'POST',
    '/api/resilience/faults',
    { target: 'prices', fault: 'error' },
    undefined,
    through.url,
  );
}

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

  it('When a lab answers 2xx but with a body the console cannot use, then the action is 502 lab-refused and the tab shows the lab as not running', async () => {
    // Arrange: saga services that answer every request 200 with `null` for a body.
    const url = await fakeLab((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('null');
    });
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

    // Act: booking creates inventory first, and the answer to that names no inventory.
    const res = await fetch(`${misled.url}/api/saga/trips`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const state = (await (await fetch(`${misled.url}/api/state`)).json()) as {
      saga?: { up?: boolean };
    };

    // Assert: a bad gateway, not a lab to wait for, and not the console's own 500.
    expect(res.status).toBe(502);
    expect(res.headers.get('retry-after')).toBeNull();
    const problem = (await res.json()) as { code?: string; detail?: string };
    expect(problem.code).toBe('lab-refused');
    expect(problem.detail).toMatch(/not a JSON object/);
    expect(state.saga?.up).toBe(false);
  });

  it('When the orchestrator starts running another saga definition between two polls, then the tab shows the new steps', async () => {
    // Arrange: an orchestrator that is never seen down, and whose definition changes.
    let step = 'reserve-flight';
    const orchestrator = await fakeLab((req, res) => {
      const json = (body: unknown) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/healthz') json({ status: 'alive', service: 'orchestrator' });
      else if (req.url?.startsWith('/trips')) json({ trips: [] });
      else if (req.url === '/saga-definition')
        json({
          name: 'book-trip',
          steps: [{ name: step, kind: 'compensable', compensation: null }],
        });
      else res.writeHead(404).end();
    });
    const watching = await startConsole({
      ...(await labsNowhere()),
      CONSOLE_SAGA_ORCHESTRATOR_URL: orchestrator,
    });
    cleanups.push(watching.stop);
    const stepsShown = async () => {
      const state = (await (await fetch(`${watching.url}/api/state`)).json()) as {
        saga: { definition: { steps: { name: string }[] } | null };
      };
      return state.saga.definition?.steps.map((s) => s.name).join();
    };
    await waitFor('the first definition', async () => (await stepsShown()) === 'reserve-flight');

    // Act
    step = 'reserve-hotel';

    // Assert
    await waitFor('the new definition', async () => (await stepsShown()) === 'reserve-hotel', {
      timeoutMs: 5000,
    });
  });

  it('When the read side is away after an order was placed, then the action answers 200 with each read saying it got no answer, not 503 for an order already placed', async () => {
    // Arrange: a command service that takes every order; the query service is nowhere.
    const command = await fakeLab((req, res) => {
      const json = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/healthz') json(200, { status: 'alive', service: 'command-service' });
      else if (req.method === 'POST' && req.url === '/products') json(201, { id: 'p-1' });
      else if (req.method === 'POST' && req.url === '/orders')
        json(201, { id: 'o-1', version: 1, consistencyToken: 't' });
      else json(404, { code: 'route-not-found' });
    });
    const placing = await startConsole({
      ...(await labsNowhere()),
      CONSOLE_CQRS_COMMAND_URL: command,
    });
    cleanups.push(placing.stop);

    // Act
    const res = await fetch(`${placing.url}/api/cqrs/orders`, { method: 'POST' });

    // Assert
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      orderId: string;
      withoutToken: { status: number | null; error?: string };
      withToken: { status: number | null; error?: string };
    };
    expect(body.orderId).toBe('o-1');
    for (const read of [body.withoutToken, body.withToken]) {
      expect(read.status).toBeNull();
      expect(read.error).toMatch(/orders\/o-1/);
    }
  });

  it('When an order is placed, then the lab gets one traceparent, naming the trace the console links', async () => {
    // Arrange: a command service that records what it is sent.
    const traceparents: (string | string[] | undefined)[] = [];
    const command = await fakeLab((req, res) => {
      const json = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/healthz') json(200, { status: 'alive', service: 'command-service' });
      else if (req.method === 'POST' && req.url === '/products') json(201, { id: 'p-1' });
      else if (req.method === 'POST' && req.url === '/orders') {
        traceparents.push(req.headers.traceparent);
        json(201, { id: 'o-1', version: 1, consistencyToken: 't' });
      } else json(404, { code: 'route-not-found' });
    });
    const tracing = await startConsole({
      ...(await labsNowhere()),
      CONSOLE_CQRS_COMMAND_URL: command,
    });
    cleanups.push(tracing.stop);

    // Act
    const res = await fetch(`${tracing.url}/api/cqrs/orders`, { method: 'POST' });
    const { traceId } = (await res.json()) as { traceId: string };

    // Assert: a second traceparent (Node joins repeated headers with ", ") would not parse, and
    // the lab would start a trace of its own, so the page's link would lead to no trace.
    expect(traceparents).toHaveLength(1);
    expect(traceparents[0]).toMatch(new RegExp(`^00-${traceId}-[\\da-f]{16}-01$`));
  });

  it('When a lab drops the connection after an action was sent, then 502 lab-answer-lost without Retry-After: it may have carried the action out', async () => {
    const lab = await fakeLab((req, res) => {
      if (req.method === 'POST') req.socket.destroy();
      else res.writeHead(404).end();
    });
    const res = await faultThrough(lab);

    expect(res.status).toBe(502);
    expect(res.retryAfter).toBeNull();
    expect(res.body.code).toBe('lab-answer-lost');
  });

  it('When a lab takes an action in and never answers, then 504 lab-timeout after CONSOLE_ACTION_TIMEOUT_MS, without Retry-After: it may have carried the action out', async () => {
    const lab = await fakeLab((req, res) => {
      // Holds every action open until the file's cleanup closes the connections.
      if (req.method !== 'POST') res.writeHead(404).end();
    });
    const res = await faultThrough(lab, { CONSOLE_ACTION_TIMEOUT_MS: '300' });

    expect(res.status).toBe(504);
    expect(res.retryAfter).toBeNull();
    expect(res.body.code).toBe('lab-timeout');
    expect(res.body.detail).toContain('no answer within 300 ms');
  });

  it("When a lab answers 503 (its own dependency is away), then the console passes on 503 with Retry-After, the lab's problem under `lab`", async () => {
    const lab = await fakeLab((req, res) => {
      res
        .writeHead(req.url === '/_chaos' ? 503 : 404, {
          'content-type': 'application/problem+json',
        })
        .end(JSON.stringify({ code: 'dependency-unavailable' }));
    });
    const res = await faultThrough(lab);

    expect(res.status).toBe(503);
    expect(res.retryAfter).toBe('1');
    expect(res.body.code).toBe('lab-refused');
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

describe('stopping the console', () => {
  it('When it is stopped while a page holds its event stream, then the stream ends cleanly and the console exits 0', async () => {
    // Arrange: a page's stream, read up to its first state.
    const stopping = await startConsole(await labsNowhere());
    cleanups.push(stopping.stop);
    const res = await fetch(`${stopping.url}/api/events`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let seen = '';
    while (!seen.includes('data: ')) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended before its first state');
      seen += new TextDecoder().decode(value);
    }

    // Act: SIGTERM, and read the stream to its end meanwhile.
    const exited = stopping.stop();
    const ended = (async () => {
      for (;;) if ((await reader.read()).done) return 'ended';
    })();

    // Assert: the console ended the stream itself. Left open, the server's drain would cut the
    // connection at its deadline instead, and the read would fail with "terminated".
    await expect(ended).resolves.toBe('ended');
    await expect(exited).resolves.toBe(0);
  });
});
