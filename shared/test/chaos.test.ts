import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pino } from 'pino';
import { Chaos, chaosGate, chaosRoutes, finishOrLose } from '../src/chaos.ts';
import { createApp, start, type RunningServer } from '../src/http/index.ts';

const targets = ['action', 'compensation'] as const;
const faults = ['error', 'hang', 'reject', 'lose-response', 'down', 'reset'] as const;
const newChaos = () => new Chaos({ targets: [...targets], faults: [...faults], hangMaxMs: 200 });

describe('chaos engine', () => {
  test('When two engines get the same seed and rule, then they inject the same faults call for call', () => {
    const rule = { target: 'action', faults: { error: 0.3, hang: 0.2 }, seed: 42 } as const;
    const [a, b] = [newChaos(), newChaos()];
    a.set(rule);
    b.set(rule);
    const run = (chaos: Chaos<'action' | 'compensation'>) =>
      Array.from({ length: 200 }, () => chaos.decide('action').fault);
    const first = run(a);
    expect(run(b)).toEqual(first);
    const errors = first.filter((f) => f === 'error').length;
    expect(errors).toBeGreaterThan(30);
    expect(errors).toBeLessThan(90);
    expect(first).toContain('hang');
    expect(first).toContain('none');
  });

  test('When a rule says next N, then exactly N calls suffer it and the rule removes itself', () => {
    const chaos = newChaos();
    chaos.set({ target: 'action', faults: { reject: 1 }, next: 2 });
    expect([1, 2, 3].map(() => chaos.decide('action').fault)).toEqual(['reject', 'reject', 'none']);
    expect(chaos.describe()).toEqual({ action: null, compensation: null });
  });

  test('When a rule targets one operation, then the others are untouched until it is cleared', () => {
    const chaos = newChaos();
    chaos.set({ target: 'compensation', faults: { error: 1 }, status: 503, retryAfterS: 2 });
    expect(chaos.decide('action').fault).toBe('none');
    expect(chaos.decide('compensation')).toMatchObject({
      fault: 'error',
      status: 503,
      retryAfterS: 2,
      seq: 1,
    });
    chaos.clear('compensation');
    expect(chaos.decide('compensation').fault).toBe('none');
  });

  test('When a rule sets latency, then the delays stay between a fraction of p50 and the tail', () => {
    const chaos = newChaos();
    chaos.set({ target: 'action', latency: { p50Ms: 50, p99Ms: 400 } });
    const delays = Array.from({ length: 400 }, () => chaos.decide('action').latencyMs).sort(
      (x, y) => x - y,
    );
    expect(delays[200]).toBeGreaterThan(30);
    expect(delays[200]).toBeLessThan(80);
    expect(delays[399]).toBeGreaterThan(delays[200]! * 3);
  });

  test('When a rule is not valid, then set refuses it', () => {
    const chaos = new Chaos({ targets: ['prices'], faults: ['error'] });
    expect(() => chaos.set({ target: 'prices', faults: { error: 1.5 } })).toThrow();
  });
});

describe('the /_chaos API', () => {
  let on: RunningServer;
  let off: RunningServer;
  const logger = pino({ level: 'silent' });

  const serve = async (enabled: boolean) => {
    const chaos = newChaos();
    const app = createApp({
      service: 'chaos-test',
      logger,
      routes: (routes) => {
        routes.post('/work', chaosGate(chaos, 'action'), (_req, res) => {
          finishOrLose(res, 201, { done: true });
        });
        chaosRoutes(routes, chaos, { enabled, logger, report: () => ({ extra: 1 }) });
      },
    });
    return start(app, 0);
  };

  beforeAll(async () => {
    on = await serve(true);
    off = await serve(false);
  });
  afterAll(async () => {
    await on.stop();
    await off.stop();
  });

  const send = (url: string, method: string, body?: unknown) =>
    fetch(url, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  test('When LAB_CHAOS is off, then /_chaos does not exist', async () => {
    expect((await send(`${off.url}/_chaos`, 'POST', { target: 'action' })).status).toBe(404);
    expect((await send(`${off.url}/_chaos`, 'GET')).status).toBe(404);
  });

  test('When a body names an unknown fault or target, then 400 problem+json names the field', async () => {
    const res = await send(`${on.url}/_chaos`, 'POST', {
      target: 'refund',
      faults: { explode: 1 },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await res.json()) as { errors: { path: string }[] };
    const paths = problem.errors.map((e) => e.path);
    expect(paths).toContain('body.target');
    expect(paths.some((p) => p.startsWith('body.faults'))).toBe(true);
  });

  test('When the fault rates add up to more than 1, then 400', async () => {
    const res = await send(`${on.url}/_chaos`, 'POST', {
      target: 'action',
      faults: { error: 0.7, hang: 0.7 },
    });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: { path: string }[] };
    expect(problem.errors[0]?.path).toMatch(/^body\.faults/);
  });

  test('When a rule is posted, then the next call suffers it, GET reports it and DELETE removes it', async () => {
    const set = await send(`${on.url}/_chaos`, 'POST', {
      target: 'action',
      faults: { reject: 1 },
      next: 1,
    });
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ rules: { action: { next: 1 } }, extra: 1 });
    const rejected = await send(`${on.url}/work`, 'POST', {});
    expect(rejected.status).toBe(409);
    expect(((await rejected.json()) as { code: string }).code).toBe('chaos-rejected');
    expect((await send(`${on.url}/work`, 'POST', {})).status).toBe(201);

    await send(`${on.url}/_chaos`, 'POST', { target: 'action', faults: { error: 1 }, status: 503 });
    await send(`${on.url}/_chaos`, 'POST', {
      target: 'compensation',
      faults: { error: 1 },
    });
    expect((await send(`${on.url}/work`, 'POST', {})).status).toBe(503);
    const cleared = await send(`${on.url}/_chaos?target=action`, 'DELETE');
    expect(await cleared.json()).toMatchObject({ rules: { action: null, compensation: {} } });
    expect((await send(`${on.url}/work`, 'POST', {})).status).toBe(201);
    await send(`${on.url}/_chaos`, 'DELETE');
    expect(await (await send(`${on.url}/_chaos`, 'GET')).json()).toMatchObject({
      rules: { action: null, compensation: null },
    });
    expect((await send(`${on.url}/_chaos?target=nope`, 'DELETE')).status).toBe(400);
  });

  test('When DELETE /_chaos carries a body, then 400 names the body and no rule is removed', async () => {
    await send(`${on.url}/_chaos`, 'POST', { target: 'action', faults: { reject: 1 } });
    await send(`${on.url}/_chaos`, 'POST', { target: 'compensation', faults: { error: 1 } });
    for (const body of [{ target: 'action' }, []]) {
      const res = await send(`${on.url}/_chaos`, 'DELETE', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const problem = (await res.json()) as { errors: { path: string }[] };
      expect(problem.errors.map((e) => e.path)).toEqual(['body']);
    }
    expect(await (await send(`${on.url}/_chaos`, 'GET')).json()).toMatchObject({
      rules: { action: { faults: { reject: 1 } }, compensation: { faults: { error: 1 } } },
    });
    expect((await send(`${on.url}/_chaos`, 'DELETE')).status).toBe(200);
  });

  test('When the response is lost or the call hangs, then the caller gets no answer', async () => {
    await send(`${on.url}/_chaos`, 'POST', { target: 'action', faults: { 'lose-response': 1 } });
    await expect(send(`${on.url}/work`, 'POST', {})).rejects.toThrow();
    await send(`${on.url}/_chaos`, 'POST', { target: 'action', faults: { hang: 1 } });
    await expect(
      fetch(`${on.url}/work`, { method: 'POST', signal: AbortSignal.timeout(100) }),
    ).rejects.toThrow();
    // The engine's hangMaxMs (200 ms here) ends a hang nobody gave up on: 504.
    expect((await send(`${on.url}/work`, 'POST', {})).status).toBe(504);
    await send(`${on.url}/_chaos`, 'DELETE');
  });
});
