import type { Bulkhead, BulkheadOptions } from '@lab/resilience-gateway/seams';

class BulkheadFull extends Error {
  override name = 'BulkheadFull';
}

/**
 * At most maxConcurrent calls at once, maxQueue more waiting, the rest refused at once. Capped
 * below the pool size, a slow dependency can hold only its own share of connections.
 */
export function createBulkhead(name: string, options: BulkheadOptions): Bulkhead {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
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
        return Promise.resolve(release);
      }
      if (waiting.length >= options.maxQueue) {
        return Promise.reject(new BulkheadFull(`The ${name} bulkhead is full.`));
      }
      return new Promise((resolve, reject) => {
        const grant = () => {
          signal.removeEventListener('abort', leave);
          resolve(release);
        };
        const leave = () => {
          waiting.splice(waiting.indexOf(grant), 1);
          reject(new BulkheadFull(`Left the ${name} queue.`));
        };
        signal.addEventListener('abort', leave, { once: true });
        waiting.push(grant);
      });
    },
  };
}
