import { Redis } from 'ioredis';

export { Redis } from 'ioredis';

/**
 * A Redis client that fails commands fast while disconnected instead of queueing them for
 * ever: a read model that cannot answer should say 503 now, not hang the caller.
 */
export function createRedis(url: string, options: { keyPrefix?: string } = {}): Redis {
  return new Redis(url, {
    keyPrefix: options.keyPrefix ?? '',
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 2000,
    lazyConnect: false,
  });
}
