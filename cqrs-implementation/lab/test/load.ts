import { commandClient, type Reply } from '../src/client.ts';

/** The request, its status and any problem code: `POST /orders 503 dependency-unavailable`. */
function describeAnswer(request: string, res: Reply<unknown>): string {
  const { code } = (res.body ?? {}) as { code?: unknown };
  return `${request} ${res.status}${typeof code === 'string' ? ` ${code}` : ''}`;
}

/**
 * A steady stream of commands (orders, some cancellations) run until stopped, keeping its own
 * ledger of what succeeded so a test can compute the exact stock and units sold afterwards.
 * Every product is expected to have stock to spare, so any other answer is a fault: each is
 * listed in `unexpected` (and a request that got no answer counts in `errors`).
 */
export function startCommandLoad(commandUrl: string, productIds: string[], concurrency = 4) {
  const commands = commandClient(commandUrl);
  let running = true;
  const ledger = {
    placed: 0,
    rejected: 0,
    cancelled: 0,
    errors: 0,
    unexpected: [] as string[],
  };
  const worker = async (w: number) => {
    let i = 0;
    while (running) {
      i += 1;
      const productId = productIds[(w + i) % productIds.length] ?? '';
      try {
        const res = await commands.placeOrder({
          customerId: `load-${w}`,
          lines: [{ productId, quantity: 1 + (i % 3) }],
        });
        if (res.status === 201) {
          ledger.placed += 1;
          if (i % 5 === 0) {
            const cancelled = await commands.cancel(res.body.id, res.body.version);
            if (cancelled.status === 200) ledger.cancelled += 1;
            else
              ledger.unexpected.push(
                describeAnswer(`POST /orders/${res.body.id}/cancel`, cancelled),
              );
          }
        } else {
          ledger.rejected += 1;
          ledger.unexpected.push(describeAnswer('POST /orders', res));
        }
      } catch {
        ledger.errors += 1;
      }
    }
  };
  const workers = Array.from({ length: concurrency }, (_, w) => worker(w));
  return {
    ledger,
    stop: async () => {
      running = false;
      await Promise.all(workers);
    },
  };
}
