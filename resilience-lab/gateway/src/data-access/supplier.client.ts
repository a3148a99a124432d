import { Pool } from 'undici';

export type Dependency = 'prices' | 'stock';

export interface SupplierAnswer {
  status: number;
  body: unknown;
  /** Retry-After in milliseconds, when the supplier sent one. */
  retryAfterMs: number | undefined;
}

/** Why a supplier attempt failed, in the words the retry policy and the breaker need. */
export type FailureKind = 'http' | 'timeout' | 'connection' | 'caller-gone';

export class SupplierFailure extends Error {
  readonly kind: FailureKind;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(
    kind: FailureKind,
    message: string,
    extra: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: extra.cause });
    this.name = 'SupplierFailure';
    this.kind = kind;
    this.status = extra.status;
    this.retryAfterMs = extra.retryAfterMs;
  }
}

export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * One undici Pool with a hard connection limit for every route of the supplier. When slow
 * price calls hold every connection, stock calls wait in the pool's queue behind them: that
 * shared, bounded resource is how a slow dependency becomes everyone's outage.
 */
export function createSupplierClient(origin: string, connections: number) {
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 10_000 });

  async function get(
    path: string,
    options: { signal: AbortSignal; headers: Record<string, string> },
  ): Promise<SupplierAnswer> {
    const { statusCode, headers, body } = await pool.request({
      path,
      method: 'GET',
      headers: options.headers,
      signal: options.signal,
    });
    const text = await body.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return {
      status: statusCode,
      body: parsed,
      retryAfterMs: parseRetryAfter(headers['retry-after']),
    };
  }

  return { get, close: () => pool.close(), stats: () => pool.stats };
}

/**
 * What the protections wrap: a call and a close. The pool's stats are the HTTP client's own
 * (`/status` shows them); the in-process wiring has no pool, so it has none to report.
 */
export type SupplierClient = Pick<ReturnType<typeof createSupplierClient>, 'get' | 'close'>;
