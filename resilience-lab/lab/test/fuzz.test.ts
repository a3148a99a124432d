import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type RunningLab } from '../src/services.ts';
import { supplierAdmin } from '../src/client.ts';

let lab: RunningLab;

beforeAll(async () => {
  lab = await startLab({ gatewayEnv: { TIMEOUT_MS: '200', BREAKER_RESET_TIMEOUT_MS: '500' } });
  const supplier = supplierAdmin(lab.supplier.url);
  // A supplier that misbehaves in every way, so error paths are fuzzed too.
  await supplier.chaos({
    target: 'prices',
    faults: { error: 0.2, reset: 0.1, hang: 0.05 },
    latency: { p50Ms: 2, p99Ms: 300 },
  });
  await supplier.chaos({ target: 'stock', faults: { error: 0.1, reset: 0.05 } });
});
afterAll(async () => {
  await lab.stop();
});

/** The fields a 400 problem+json names. */
async function fieldsOf(res: Response) {
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  return ((await res.json()) as { errors: { path: string }[] }).errors.map((e) => e.path);
}

const segment = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,70}$/),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('unknown-1', '..', '%00', '%', 'a'.repeat(200), ' ', 'sku?x=1', 'é'),
);

describe('fuzzing the public endpoints', () => {
  it('When any path, method, header and body are sent, then the gateway never answers 500 and every error is problem+json', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          '/quotes/',
          '/availability/',
          '/status',
          '/breakers',
          '/',
          '/quotes',
          '/metrics/',
        ),
        segment,
        fc.constantFrom('GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE', 'HEAD'),
        fc.option(fc.string({ maxLength: 80 })),
        fc.option(
          fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
        ),
        fc.option(fc.string({ maxLength: 130 })),
        async (prefix, raw, method, body, contentType, requestId) => {
          const path = prefix.endsWith('/') ? `${prefix}${encodeURIComponent(raw)}` : prefix;
          const headers: Record<string, string> = {};
          if (contentType) headers['content-type'] = contentType;
          if (requestId) headers['x-request-id'] = requestId.replace(/[^\x20-\x7e]/g, '');
          const res = await fetch(`${lab.gateway.url}${path}`, {
            method,
            headers,
            ...(body !== null && method !== 'GET' && method !== 'HEAD' && { body }),
          });
          const text = await res.text();
          expect(res.status, `${method} ${path} -> ${text}`).not.toBe(500);
          if (res.status >= 400)
            expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
          // A HEAD answer has the GET answer's headers and no body: nothing more to read.
          if (method === 'HEAD') return;
          if (res.status >= 400)
            expect((JSON.parse(text) as { code: string }).code).toMatch(/^[a-z-]+$/);
          // 5xx only when the supplier is the cause, never from the gateway's own code.
          if (res.status >= 500)
            expect(JSON.parse(text)).toMatchObject({
              code: expect.stringMatching(
                /^(breaker-open|bulkhead-full|supplier-[a-z-]+)$/,
              ) as unknown,
            });
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('text no store could hold', () => {
  it('When a SKU holds a NUL or undecodable escapes, then gateway and supplier answer 400 problem+json, the NUL named as params.sku', async () => {
    for (const base of [
      `${lab.gateway.url}/quotes/`,
      `${lab.gateway.url}/availability/`,
      `${lab.supplier.url}/prices/`,
      `${lab.supplier.url}/stock/`,
    ]) {
      const nul = await fetch(`${base}sku%00x`);
      expect(nul.status).toBe(400);
      expect(nul.headers.get('content-type')).toContain('application/problem+json');
      const problem = (await nul.json()) as { errors: { path: string; message: string }[] };
      expect(problem.errors.map((e) => e.path)).toEqual(['params.sku']);
      expect(problem.errors[0]?.message).toMatch(/NUL/);
      // A lone surrogate has no UTF-8 form: in a URL it is invalid percent-escapes, refused
      // by the router before any cache key or supplier URL is built from it.
      const surrogate = await fetch(`${base}sku%ED%A0%80`);
      expect(surrogate.status).toBe(400);
      expect(await surrogate.json()).toMatchObject({ errors: [{ path: 'params' }] });
    }
  });
});

describe('routes that take no query', () => {
  it('When a quote, availability, status, breakers, price or chaos read is sent a query, then 400 naming it rather than an answer that ignored it', async () => {
    for (const url of [
      `${lab.gateway.url}/quotes/sku-1`,
      `${lab.gateway.url}/availability/sku-1`,
      `${lab.gateway.url}/status`,
      `${lab.gateway.url}/breakers`,
      `${lab.supplier.url}/prices/sku-1`,
      `${lab.supplier.url}/_chaos`,
    ])
      expect(await fieldsOf(await fetch(`${url}?fresh=1`)), url).toEqual(['query']);
  });
});

describe('what the supplier records of a call', () => {
  it('When the correlation headers are malformed, then 400 names the header and the call ledger records nothing of them', async () => {
    const last = (await supplierAdmin(lab.supplier.url).calls()).at(-1)?.id ?? 0;

    for (const [name, value] of [
      ['x-attempt', '1e3'],
      ['x-attempt', '0x10'],
      ['x-attempt', '-5'],
      ['x-attempt', '0'],
      ['x-request-id', 'r'.repeat(129)],
      ['x-request-id', 'id with spaces'],
    ] as const) {
      const res = await fetch(`${lab.supplier.url}/stock/sku-fuzz`, { headers: { [name]: value } });
      expect(await fieldsOf(res), `${name}: ${value}`).toEqual([`headers.${name}`]);
    }
    // The stock route has faults planned (beforeAll): the call may be answered with one, or
    // reset, but the ledger records it either way, with its well-formed headers.
    await fetch(`${lab.supplier.url}/stock/sku-fuzz`, {
      headers: { 'x-attempt': '2', 'x-request-id': 'req-fuzz.1' },
    }).then(
      (res) => res.arrayBuffer(),
      () => undefined,
    );

    const recorded = await supplierAdmin(lab.supplier.url).calls(last, 'stock');
    expect(recorded.filter((c) => c.sku === 'sku-fuzz')).toMatchObject([
      { attempt: 2, requestId: 'req-fuzz.1' },
    ]);
  });

  it('When the call log is asked with a misspelt or array key, then 400 rather than every call unfiltered', async () => {
    for (const query of ['route[]=stock', 'Route=stock', 'since[]=20', 'foo=1'])
      expect(
        await fieldsOf(await fetch(`${lab.supplier.url}/_chaos/calls?${query}`)),
        query,
      ).toEqual(['query']);
  });
});
