import { Pool } from 'undici';
import { percentile } from '@lab/shared/testkit';

export interface Rate {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
}

export interface Target {
  origin: string;
  method?: 'GET' | 'POST';
  /** Called per request, so each can ask a different question. */
  path: (i: number) => string;
  body?: (i: number) => unknown;
}

/**
 * Closed-loop load: `connections` clients each send the next request as soon as the previous
 * answered, for `seconds`. The same client (undici, keep-alive) for every target and baseline,
 * so the ratios compare servers, not clients. 127.0.0.1 only.
 */
export async function measureRate(
  target: Target,
  seconds: number,
  connections = 16,
): Promise<Rate> {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(target.origin))
    throw new Error('bench targets 127.0.0.1 only');
  const pool = new Pool(target.origin, { connections, pipelining: 1 });
  const deadline = Date.now() + seconds * 1000;
  let requests = 0;
  let errors = 0;
  let i = 0;
  const started = Date.now();
  const worker = async () => {
    while (Date.now() < deadline) {
      const n = i++;
      const body = target.body?.(n);
      try {
        const res = await pool.request({
          method: target.method ?? 'GET',
          path: target.path(n),
          ...(body !== undefined && {
            body: JSON.stringify(body),
            headers: { 'content-type': 'application/json' },
          }),
        });
        await res.body.dump();
        if (res.statusCode < 400) requests += 1;
        else errors += 1;
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (Date.now() - started) / 1000;
  await pool.close();
  return { requests, errors, seconds: elapsed, rps: requests / elapsed };
}

/**
 * Measures each target `rounds` times, alternating between them, and keeps each one's median:
 * on a shared 2-core machine a burst of background work then lands in one round of one target
 * instead of deciding a whole ratio.
 */
export async function interleavedRates(
  targets: Target[],
  rounds: number,
  seconds: number,
  connections = 16,
): Promise<number[]> {
  const samples: number[][] = targets.map(() => []);
  for (let round = 0; round < rounds; round++)
    for (const [i, target] of targets.entries())
      samples[i]?.push((await measureRate(target, seconds, connections)).rps);
  return samples.map((rates) => percentile(rates, 50) ?? 0);
}
