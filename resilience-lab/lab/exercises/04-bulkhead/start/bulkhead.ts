import type { Bulkhead, BulkheadOptions } from '@lab/resilience-gateway/seams';

/** Thrown when the bulkhead refuses a call; the gateway turns it into 503 + Retry-After. */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- yours to throw on overflow
class BulkheadFull extends Error {
  override name = 'BulkheadFull';
}

/** Limits concurrent calls to one dependency. This one lets every call through. */
export function createBulkhead(_name: string, _options: BulkheadOptions): Bulkhead {
  let active = 0;
  return {
    get active() {
      return active;
    },
    get queued() {
      return 0;
    },
    acquire() {
      active += 1;
      return Promise.resolve(() => {
        active -= 1;
      });
    },
  };
}
