/**
 * The payments module moved out of the monolith: the booking's payment port now charges the
 * card on the payments service over HTTP (`POST /charges`, the participant the saga calls),
 * instead of on the trip's own transaction. Every other module stays in-process.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '@lab/shared/errors';
import type { PoolClient } from '@lab/shared/pg';

interface Charge {
  chargeId: string;
  cardToken: string;
  amountCents: number;
}
/** The trips module's PaymentPort (@lab/saga-monolith's seams.ts), written out. */
interface PaymentPort {
  capture: (tx: PoolClient, input: Charge) => Promise<void>;
}

const ATTEMPTS = 3;

export function paymentPort(
  _local: PaymentPort,
  settings: { paymentsUrl: string | undefined },
): PaymentPort {
  const base = settings.paymentsUrl;
  if (!base) throw new Error('PAYMENTS_URL is not set: the payments service has no address');
  return {
    // The trip's transaction is still open while this runs, but the charge is not part of it.
    capture: async (_tx, input) => {
      for (let attempt = 1; ; attempt++) {
        const key = randomUUID();
        const res = await fetch(`${base}/charges`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify(input),
          signal: AbortSignal.timeout(2000),
        }).catch((error: unknown) => {
          // No answer: the charge may or may not have happened. Ask again.
          if (attempt < ATTEMPTS) return undefined;
          throw error;
        });
        if (!res) continue;
        if (res.ok) return;
        const problem = (await res.json()) as { code?: string; detail?: string };
        if (res.status >= 500 && attempt < ATTEMPTS) continue;
        // The payments service's "no" (card-declined, ...) is the module's "no": the trip is refused.
        throw new AppError(
          problem.code ?? 'payment-failed',
          res.status,
          problem.detail ?? 'The payments service refused the charge.',
        );
      }
    },
  };
}
