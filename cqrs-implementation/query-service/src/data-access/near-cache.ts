import { LRUCache } from 'lru-cache';
import type { Logger } from '@lab/shared/logging';
import { counter } from '@lab/shared/metrics';
import type { Redis } from '@lab/shared/redis';

/**
 * The query service's near cache: the read-model documents it answered lately, kept in this
 * process so that a repeated read costs no Redis round trip. The round trip is a fifth or less
 * of what a read costs (see BENCHMARKS.md: Express plus one HGET answers about four fifths of
 * what Express alone does), the rest being the service's own work; still, a read model read far
 * more often than it changes is served from memory for that fifth.
 *
 * Redis keeps it honest. One connection of ours turns on CLIENT TRACKING in broadcast mode
 * (BCAST) for the read model's prefix: from then on Redis pushes the name of every key written
 * under that prefix, by the projector, a rebuild or a flush, to the `__redis__:invalidate`
 * channel that connection listens on, and the entry for that key is dropped. Nothing is asked
 * per read, and nothing on the write side knows the cache exists.
 *
 * What it costs is one more hop of eventual consistency: between the projector's write and the
 * invalidation's arrival (a pub/sub message on another connection) a read may still get the
 * previous document. A read carrying a consistency token never asks the cache
 * (the repository's `uncached`), so read-your-writes holds exactly as without it.
 *
 * The cache answers only while it is armed, that is while the tracking connection is up and
 * tracking, and while the service's own connection is up (a read then gets Redis's 503, as any
 * other read does). When the tracking connection drops, every invalidation sent meanwhile is
 * lost, so the cache is emptied and stays off until the new connection tracks again; a Redis
 * that restarted empty therefore never has its old documents served back from here. Entries also expire after
 * `ttlMs`, a bound on staleness should an invalidation ever be lost on a connection that
 * stays open.
 */

const INVALIDATIONS = '__redis__:invalidate';

const reads = counter(
  'cqrs_query_near_cache_reads_total',
  "Read-model reads by the near cache's part in them: hit (answered from memory), miss (read from Redis, kept when nothing changed meanwhile), off (not armed: read from Redis), bypass (a consistency-token read, always from Redis)",
  ['result'],
);
// One child per result, made once: prom-client works out a label set's identity on every
// labelled inc(), and the hit path is run for most requests.
const counted = {
  hit: reads.labels({ result: 'hit' }),
  miss: reads.labels({ result: 'miss' }),
  off: reads.labels({ result: 'off' }),
  bypass: reads.labels({ result: 'bypass' }),
};

export interface NearCache {
  /**
   * The document stored for `key` (the Redis key below its generation, e.g. `product:<id>`),
   * from memory or else from `load`. What `load` returns is kept unless `key` was written, or
   * the whole cache dropped, while it was being read.
   */
  read<T extends object | string>(
    key: string,
    load: () => Promise<T | undefined>,
    size: (value: T) => number,
  ): Promise<T | undefined>;
  /** A read that must see Redis itself: one after a consistency-token wait. */
  bypass<T>(load: () => Promise<T>): Promise<T>;
  /** Whether reads are being served from memory now (tracking on, connection up). */
  armed(): boolean;
  close(): void;
}

interface Reading {
  readers: number;
  /** The invalidation sequence number of the last write to this key seen while it was read. */
  writtenAt: number;
}

export function createNearCache(
  redis: Redis,
  /** The read model's key prefix, `<REDIS_KEY_PREFIX>cqrs:`. */
  base: string,
  options: { maxBytes: number; ttlMs: number; logger: Logger },
): NearCache {
  const { logger } = options;
  const entries = new LRUCache<string, { value: object | string; size: number }>({
    maxSize: options.maxBytes,
    sizeCalculation: (entry) => Math.max(1, entry.size),
    ttl: options.ttlMs,
  });
  // Reads on their way to Redis, by key: an invalidation can overtake the reply (it comes on
  // another connection), and the document that reply carries must then not be kept.
  const inFlight = new Map<string, Reading>();
  // Counts invalidations; a read remembers where it started, so it knows whether its key was
  // written since.
  let sequence = 0;
  // Bumped whenever the whole cache is dropped: a read begun before it keeps nothing.
  let epoch = 0;
  let armed = false;
  // Bumped whenever the tracking connection closes or is set up anew: an `arm` that sees it
  // change was overtaken by a newer connection.
  let session = 0;

  const dropAll = () => {
    epoch += 1;
    entries.clear();
  };
  const disarm = () => {
    session += 1;
    armed = false;
    dropAll();
  };

  // The tracking connection: a copy of the service's client (same URL, timeouts, reconnect
  // back-off), in subscriber mode once armed. Not resubscribed by ioredis on reconnect: a new
  // connection has a new client id and no tracking, so `arm` sets both up again itself.
  const tracker = redis.duplicate({
    connectionName: 'query-near-cache',
    autoResubscribe: false,
    enableAutoPipelining: false,
    enableOfflineQueue: true,
  });
  tracker.on('error', (error: Error) => {
    logger.debug({ err: error }, 'near cache: tracking connection error');
  });
  tracker.on('close', disarm);

  const arm = async () => {
    disarm();
    const attempt = session;
    try {
      // Tracking redirected to this same connection (RESP2 delivers the invalidations as
      // pub/sub messages), so one connection's life is the cache's: no second one to lose.
      const id = await tracker.client('ID');
      await tracker.call(
        'CLIENT',
        'TRACKING',
        'ON',
        'REDIRECT',
        String(id),
        'BCAST',
        'PREFIX',
        base,
      );
      await tracker.subscribe(INVALIDATIONS);
      if (attempt !== session) return;
      armed = true;
      logger.debug('near cache armed: Redis tracks the read model for it');
    } catch (error) {
      if (attempt !== session) return;
      // Half set up is not set up: drop the connection, and its next `ready` tries again.
      logger.warn({ err: error }, 'near cache could not turn on tracking; reconnecting');
      tracker.disconnect(true);
    }
  };
  tracker.on('ready', () => void arm());

  const invalidate = (redisKey: string) => {
    if (!redisKey.startsWith(base)) return;
    const rest = redisKey.slice(base.length);
    // A rebuild's switch changes which generation every read resolves to.
    if (rest === 'generation') {
      dropAll();
      return;
    }
    const colon = rest.indexOf(':');
    // The checkpoint, the heal lease, `building`: no kept document depends on them (only
    // documents that were there are kept; the checkpoint matters only for missing ones).
    if (colon < 0) return;
    // Generation-relative, like the cache's keys: a write to a generation being built drops
    // the live one's entry too, a miss more, never a stale read.
    const key = rest.slice(colon + 1);
    sequence += 1;
    entries.delete(key);
    const reading = inFlight.get(key);
    if (reading) reading.writtenAt = sequence;
  };
  tracker.on('messageBuffer', (channel: Buffer, keys: Buffer[] | null) => {
    if (channel.toString() !== INVALIDATIONS) return;
    // null: the database was flushed (FLUSHDB, FLUSHALL).
    if (keys === null) {
      dropAll();
      return;
    }
    for (const key of keys) invalidate(key.toString());
  });

  return {
    async read(key, load, size) {
      // The service's own connection down too: Redis is away, and the answer is the 503 that
      // any other read gets, not a document that may already be gone with it.
      if (!armed || redis.status !== 'ready') {
        counted.off.inc();
        return load();
      }
      const hit = entries.get(key);
      if (hit) {
        counted.hit.inc();
        return hit.value as Awaited<ReturnType<typeof load>>;
      }
      counted.miss.inc();
      const startedAt = sequence;
      const startEpoch = epoch;
      let reading = inFlight.get(key);
      if (!reading) {
        reading = { readers: 0, writtenAt: 0 };
        inFlight.set(key, reading);
      }
      reading.readers += 1;
      try {
        const value = await load();
        // Kept only if the key was not written, nor the cache dropped (a disarm drops it too),
        // while the reply was on its way.
        if (value !== undefined && epoch === startEpoch && reading.writtenAt <= startedAt)
          entries.set(key, { value, size: size(value) });
        return value;
      } finally {
        reading.readers -= 1;
        if (reading.readers === 0) inFlight.delete(key);
      }
    },
    bypass(load) {
      counted.bypass.inc();
      return load();
    },
    armed: () => armed && redis.status === 'ready',
    close() {
      disarm();
      tracker.disconnect();
    },
  };
}
