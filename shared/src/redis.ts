import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export { Redis } from 'ioredis';

const RECONNECT_FIRST_MS = 50;
const RECONNECT_MAX_MS = 1000;
/**
 * How long a command may wait for its reply. A server that stops answering without closing
 * the socket (frozen, behind a partition that drops packets) gives no disconnect to fail fast
 * on; this bounds the wait instead. Every command these services send is answered in
 * milliseconds.
 */
export const COMMAND_TIMEOUT_MS = 5000;

/**
 * A Redis client for read models and caches that fails commands fast while disconnected
 * instead of queueing them: a read model that cannot answer should say 503 now, not hang the
 * caller until Redis returns.
 *
 * - Until the first connection is ready, commands wait for it, so a service may issue them
 *   right after start-up; if that first attempt fails they fail too (nothing waits longer
 *   than one connection attempt).
 * - From then on a command issued while disconnected is refused at once, and one in flight
 *   when the connection drops is failed, not resent: the caller decides whether to retry
 *   (both errors are classified as dependency-unavailable).
 * - It reconnects for ever, backing off to at most a second between tries. Lua scripts
 *   registered with defineCommand survive a Redis that comes back empty: ioredis sends the
 *   script body (EVAL) on each new connection before switching to EVALSHA.
 * - A command with no reply within `commandTimeoutMs` fails too (dependency-unavailable); a
 *   late reply is discarded, and the commands behind it keep their order on the connection.
 * - Connection errors are reported once per outage (at warn) instead of ioredis printing
 *   "Unhandled error event" on every retry.
 */
export function createRedis(
  url: string,
  options: { keyPrefix?: string; logger?: Logger; commandTimeoutMs?: number } = {},
): Redis {
  const redis = new Redis(url, {
    keyPrefix: options.keyPrefix ?? '',
    commandTimeout: options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS,
    // 0: every reconnect attempt fails what is pending instead of holding it for the next one.
    maxRetriesPerRequest: 0,
    enableOfflineQueue: true,
    autoResendUnfulfilledCommands: false,
    connectTimeout: 2000,
    lazyConnect: false,
    retryStrategy: (attempt) =>
      Math.min(RECONNECT_FIRST_MS * 2 ** Math.min(attempt - 1, 10), RECONNECT_MAX_MS),
  });
  let down = false;
  redis.once('ready', () => {
    // The offline queue only bridges start-up; afterwards a disconnected client refuses.
    redis.options.enableOfflineQueue = false;
  });
  redis.on('ready', () => {
    if (down) options.logger?.warn('Redis reachable again');
    down = false;
  });
  const lost = (error?: Error) => {
    if (down) return;
    down = true;
    options.logger?.warn({ err: error }, 'Redis unreachable; reconnecting until it is back');
  };
  redis.on('error', lost);
  // A server that vanished may only close the socket, with no error to report.
  redis.on('reconnecting', () => {
    lost();
  });
  return redis;
}
