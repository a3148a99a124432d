export interface BulkheadOptions {
  maxConcurrent: number;
  maxQueue: number;
}

/** Thrown when the bulkhead refuses a call; the gateway turns it into 503 + Retry-After. */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- yours to throw on overflow
class BulkheadFull extends Error {
  override name = 'BulkheadFull';
}

export interface Bulkhead {
  /** Resolves with a release function once the call may proceed; rejects with BulkheadFull. */
  acquire(signal: AbortSignal): Promise<() => void>;
  readonly active: number;
  readonly queued: number;
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
