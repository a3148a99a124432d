import { waitFor } from '@lab/shared/testkit';
import { startLab, type RunningLab } from '../services.ts';
import { supplierAdmin } from '../client.ts';

const say = (text: string) => process.stdout.write(`${text}\n`);
const slow = { target: 'prices' as const, latency: { p50Ms: 2000, p99Ms: 2500 } };

async function timed(url: string) {
  const started = Date.now();
  const res = await fetch(url);
  const body = (await res.json()) as { source?: string; code?: string };
  return { status: res.status, ms: Date.now() - started, source: body.source ?? body.code };
}

async function breakerState(lab: RunningLab) {
  const res = await fetch(`${lab.gateway.url}/breakers`);
  return (await res.json()) as {
    prices: { state: string; transitions?: { to: string; reason: string }[] };
  };
}

/** Prices slow down twice: first an unprotected gateway drowns, then a protected one does not. */
export async function demo(): Promise<number> {
  const pool = { POOL_CONNECTIONS: '4' };
  const logLevel = process.env.LOG_LEVEL ?? 'info';
  say(
    '1. An UNPROTECTED gateway: one pool of 4 connections to the supplier, no timeout, no bulkhead.',
  );
  const bare = await startLab({ logLevel, gatewayEnv: { ...pool, PROTECTIONS: 'none' } });
  try {
    say(
      `   healthy: /availability answers in ${(await timed(`${bare.gateway.url}/availability/sku-1`)).ms} ms`,
    );
    say(
      '2. Prices turn slow (p50 2 s). Eight quotes arrive; then one /availability call, which never touches prices.',
    );
    await supplierAdmin(bare.supplier.url).chaos(slow);
    const quotes = Array.from({ length: 8 }, (_, i) =>
      timed(`${bare.gateway.url}/quotes/sku-${i}`),
    );
    await waitFor(
      'the pool to fill',
      async () => (await supplierAdmin(bare.supplier.url).counters()).prices.inFlight === 4,
    );
    const starved = await timed(`${bare.gateway.url}/availability/sku-1`);
    say(
      `   /availability took ${starved.ms} ms: it queued for a pooled connection behind slow price calls.`,
    );
    say(
      '   That is a cascade: a slow dependency became an outage of a route that does not use it.',
    );
    await Promise.all(quotes);
  } finally {
    await bare.stop();
  }

  say(
    '\n3. The same with PROTECTIONS=all: timeout 500 ms, bulkhead of 2 for prices, breaker, retries, fallback.',
  );
  const guarded = await startLab({
    logLevel,
    gatewayEnv: {
      ...pool,
      PROTECTIONS: 'all',
      TIMEOUT_MS: '500',
      BULKHEAD_MAX_CONCURRENT: '2',
      BULKHEAD_MAX_QUEUE: '2',
      BREAKER_VOLUME_THRESHOLD: '4',
      BREAKER_RESET_TIMEOUT_MS: '3000',
    },
  });
  try {
    const gw = guarded.gateway.url;
    for (let i = 0; i < 8; i += 1) await timed(`${gw}/quotes/sku-${i}`);
    say('   warmed: eight prices fetched and remembered as the last good price.');
    await supplierAdmin(guarded.supplier.url).chaos(slow);
    const quotes = Array.from({ length: 8 }, (_, i) => timed(`${gw}/quotes/sku-${i}`));
    const fine = await timed(`${gw}/availability/sku-1`);
    say(
      `   /availability took ${fine.ms} ms while prices are slow: the bulkhead kept connections free for it.`,
    );
    const answered = await Promise.all(quotes);
    say(`   quotes: ${answered.map((q) => `${q.status} ${q.source ?? ''}`.trim()).join(', ')}`);
    await waitFor(
      'the breaker to open',
      async () => {
        await timed(`${gw}/quotes/sku-1`);
        return (await breakerState(guarded)).prices.state === 'open';
      },
      { timeoutMs: 20_000 },
    );
    say(
      `   breaker open: ${(await breakerState(guarded)).prices.transitions?.at(-1)?.reason ?? ''}`,
    );
    const fast = await timed(`${gw}/quotes/sku-2`);
    say(
      `   while open: /quotes/sku-2 → ${fast.status} from ${fast.source ?? '?'} in ${fast.ms} ms, no supplier call.`,
    );
    say('4. The supplier heals; after the reset timeout one probe is let through.');
    await supplierAdmin(guarded.supplier.url).clear('prices');
    await waitFor(
      'the breaker to close',
      async () => {
        await timed(`${gw}/quotes/sku-3`);
        return (await breakerState(guarded)).prices.state === 'closed';
      },
      { timeoutMs: 20_000 },
    );
    const transitions = (await breakerState(guarded)).prices.transitions ?? [];
    say(`   breaker path: closed → ${transitions.map((t) => t.to).join(' → ')}`);
    say('\nNext: pnpm lab resilience experiment cascade --quick, then open the SVG it writes.');
  } finally {
    await guarded.stop();
  }
  return 0;
}
