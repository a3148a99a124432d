import { commandClient } from '../src/client.ts';

/**
 * A steady stream of commands (orders, some cancellations) run until stopped, keeping its own
 * ledger of what succeeded so a test can compute the exact stock and units sold afterwards.
 */
export function startCommandLoad(commandUrl: string, productIds: string[], concurrency = 4) {
  const commands = commandClient(commandUrl);
  let running = true;
  const ledger = { placed: 0, rejected: 0, cancelled: 0, errors: 0 };
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
          }
        } else ledger.rejected += 1;
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
