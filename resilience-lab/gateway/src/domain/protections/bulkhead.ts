export interface BulkheadOptions {
  maxConcurrent: number;
  maxQueue: number;
}

export class BulkheadFull extends Error {
  constructor(name: string) {
    super(`The ${name} bulkhead is full.`);
    this.name = 'BulkheadFull';
  }
}

/** By name, so a bulkhead from another module (an exercise's) is recognised as well. */
export const isBulkheadFull = (error: unknown) =>
  error instanceof Error && error.name === 'BulkheadFull';

export interface Bulkhead {
  /**
   * Resolves with a release function once a slot is free; rejects with BulkheadFull on
   * overflow, or when `signal` aborts while the caller waits in the queue.
   */
  acquire(signal: AbortSignal): Promise<() => void>;
  readonly active: number;
  readonly queued: number;
}

/**
 * A concurrency limit per dependency with a short queue. The shared pool has N connections;
 * capping prices below N keeps the rest for stock, so a slow prices route cannot take them all.
 * Overflow is refused at once: a fast 503 is better than a request that waits to time out.
 */
export function createBulkhead(name: string, options: BulkheadOptions): Bulkhead {
  let active = 0;
  const waiting: { grant: () => void }[] = [];

  const release = () => {
    const next = waiting.shift();
    if (next) next.grant();
    else active -= 1;
  };

  return {
    get active() {
      return active;
    },
    get queued() {
      return waiting.length;
    },
    acquire(signal) {
      if (active < options.maxConcurrent) {
        active += 1;
        return Promise.resolve(once(release));
      }
      if (waiting.length >= options.maxQueue) return Promise.reject(new BulkheadFull(name));
      return new Promise((resolve, reject) => {
        const waiter = {
          grant: () => {
            signal.removeEventListener('abort', leave);
            resolve(once(release));
          },
        };
        // A caller that leaves the queue must not keep its place, or a slot goes to no one.
        const leave = () => {
          const index = waiting.indexOf(waiter);
          if (index >= 0) waiting.splice(index, 1);
          reject(new BulkheadFull(name));
        };
        signal.addEventListener('abort', leave, { once: true });
        waiting.push(waiter);
      });
    },
  };
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
