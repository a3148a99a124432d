import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@lab/shared/logging';
import type { Relay } from '../../domain/relay.ts';

/**
 * After the last event, the relay keeps polling this long before it goes to sleep on LISTEN:
 * under steady traffic it never sleeps, so no command pays for a NOTIFY (see outbox-listener.ts).
 */
const LINGER_MS = 100;
/** The pause between polls while lingering, and while an older transaction holds events back. */
const POLL_PAUSE_MS = 2;

/**
 * Runs batches until stopped: straight on while there is work, a short pause while an older
 * transaction holds events back or while traffic may resume, otherwise asleep until NOTIFY
 * (or the polling fallback).
 */
export async function runRelayLoop(
  relay: Relay,
  options: {
    pollMs: number;
    logger: Logger;
    /** `ring: false` for a standby relay: it sleeps without asking commands to NOTIFY it. */
    waitForWork: (ms: number, ring?: boolean) => Promise<void>;
    /** The relay found work, so it is awake: commands need not NOTIFY. */
    working?: () => Promise<void>;
    stopped: () => boolean;
  },
): Promise<void> {
  let failures = 0;
  let lastWork = 0;
  while (!options.stopped()) {
    try {
      const outcome = await relay.relayBatch();
      failures = 0;
      if (outcome === 'published' || outcome === 'held-back') {
        lastWork = performance.now();
        await options.working?.();
      }
      if (outcome === 'published') continue;
      if (outcome === 'held-back' || performance.now() - lastWork < LINGER_MS)
        await sleep(POLL_PAUSE_MS);
      else await options.waitForWork(options.pollMs, outcome !== 'standby');
    } catch (error) {
      failures += 1;
      options.logger.warn({ err: error, failures }, 'relay batch failed; it will be retried');
      // The batch rolled back; a producer that failed it was dropped by the relay itself.
      await sleep(Math.min(2000, 100 * 2 ** Math.min(failures, 5)));
    }
  }
}
