import { Pool } from 'undici';
import { median, roundRatio } from '@lab/shared/testkit';

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

/** What interleavedRates measured: each target's rates, and ratios taken round by round. */
export interface Interleaved {
  /** Each target's median req/s over the rounds. */
  rates: number[];
  /**
   * Target `i` against target `base`: the median of their ratios within each round, where both
   * ran seconds apart on the same machine. A machine that changes speed between rounds (a
   * neighbour's load, a slower phase) moves both sides of a round's ratio alike, where it would
   * move a ratio of two medians taken from different rounds.
   */
  ratio: (i: number, base: number) => number;
}

/**
 * Measures each target `rounds` times after a warm-up, alternating between them, and keeps each
 * one's median: on a shared 2-core machine a burst of background work then lands in one round of
 * one target instead of deciding a whole ratio. Each round starts one target later than the one
 * before, so no target always follows the same one (a PostgreSQL join load, say, whose
 * after-effects the next target would otherwise always pay).
 */
export async function interleavedRates(
  targets: Target[],
  rounds: number,
  seconds: number,
  connections = 16,
  /**
   * Runs between the warm-up and the first recorded round: where a caller reads the counters
   * it reports "over the rounds", so that the warm-up's requests are not among them.
   */
  afterWarmUp?: () => Promise<void>,
): Promise<Interleaved> {
  // One unrecorded pass first: a service's hot path is interpreted, then compiled and compiled
  // again by V8 as it runs, and its first seconds under load measure that, not the service.
  for (const target of targets) await measureRate(target, seconds, connections);
  await afterWarmUp?.();
  const samples: number[][] = targets.map(() => []);
  for (let round = 0; round < rounds; round++)
    for (let k = 0; k < targets.length; k++) {
      const i = (round + k) % targets.length;
      const target = targets[i];
      if (target) samples[i]?.push((await measureRate(target, seconds, connections)).rps);
    }
  return {
    rates: samples.map((rates) => median(rates) ?? 0),
    ratio: (i, base) => roundRatio(samples[i] ?? [], samples[base] ?? []) ?? 0,
  };
}
