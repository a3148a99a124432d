import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@lab/shared/logging';
import type { Relay } from '../../domain/relay.ts';

/**
 * Runs batches until stopped: straight on while there is work, a short pause while an older
 * transaction holds events back, otherwise asleep until NOTIFY (or the polling fallback).
 */
export async function runRelayLoop(
  relay: Relay,
  options: {
    pollMs: number;
    logger: Logger;
    waitForWork: (ms: number) => Promise<void>;
    stopped: () => boolean;
  },
): Promise<void> {
  let failures = 0;
  while (!options.stopped()) {
    try {
      const outcome = await relay.relayBatch();
      failures = 0;
      if (outcome === 'published') continue;
      if (outcome === 'held-back') await sleep(2);
      else await options.waitForWork(options.pollMs);
    } catch (error) {
      failures += 1;
      options.logger.warn({ err: error, failures }, 'relay batch failed; it will be retried');
      // A producer that saw its broker vanish is rebuilt rather than trusted.
      await relay.dropProducer();
      await sleep(Math.min(2000, 100 * 2 ** Math.min(failures, 5)));
    }
  }
}
