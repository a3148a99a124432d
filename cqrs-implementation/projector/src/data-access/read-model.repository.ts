import type { Redis } from '@lab/shared/redis';
import type { ViewUpdate } from '../domain/product-view.projection.ts';

/**
 * Read-model key layout (all under REDIS_KEY_PREFIX):
 *   cqrs:generation                       the live generation, e.g. "g1" (absent means g1)
 *   cqrs:building                         a generation being rebuilt, also fed by the projector
 *   cqrs:<gen>:product:<id>               hash {version, doc}
 *   cqrs:<gen>:order:<id>                 hash {version, doc}
 *   cqrs:<gen>:top-products               sorted set, score = units sold
 *   cqrs:<gen>:top-products:first-page    string: the TOP_PAGE best-sellers' docs joined by commas
 *   cqrs:<gen>:customer:<id>:orders       sorted set, score = placed-at ms
 *   cqrs:<gen>:customer:<id>:first-page   hash {items, next}: the newest FIRST_PAGE order docs
 *                                         joined by commas, and the id the next page starts
 *                                         after ('' when there is none)
 *   cqrs:checkpoint                       hash: state ("healing" | "ready"), heal target, and
 *                                         p<partition> = next offset the projector will apply
 *   cqrs:heal-lease                       the projector replaying the log into an emptied store
 * The query service reads the same layout from its own copy of it
 * (query-service/src/data-access/read-model.repository.ts). The copy is on purpose: services
 * share no code but @lab/shared, so each can be deployed on its own; the layout is the
 * contract between them, like an event's schema, and a change to it changes both files.
 */
export const readModelBase = (prefix: string) => `${prefix}cqrs:`;
export const DEFAULT_GENERATION = 'g1';
/** The query service's default page of a customer's orders, kept whole by the projector. */
export const FIRST_PAGE = 20;
/** The query service's default page of top products, kept whole by the projector. */
export const TOP_PAGE = 10;

/**
 * `lost`: the store has no checkpoint, so it is not the store the projector has been feeding
 * (a cache node restarted empty, or was replaced). Nothing was written; the projector must
 * heal the read model before it carries on.
 */
export type ApplyOutcome = 'applied' | 'duplicate' | 'stale' | 'lost';

/** Where a live event came from, recorded in the checkpoint in the same script as its views. */
export interface EventPosition {
  partition: number;
  offset: string;
}

/**
 * Applies one view update atomically with a per-aggregate version check. Redis runs the
 * script as one unit, so there is no window between "check the version" and "write": a
 * redelivered event (duplicate) or an older one arriving late (stale) changes nothing, and a
 * projector killed at any instant leaves either the whole update or none of it.
 *
 * With no explicit generation, the update goes to the live generation and, during a rebuild,
 * to the one being built too, decided inside the script so an event can never slip between
 * "rebuild started" and "projector noticed".
 *
 * A live event (no explicit generation) also advances the read model's own checkpoint, in the
 * same script as its views: the checkpoint and the views live and die together. The Kafka
 * group's committed offsets live in the broker and survive a Redis that forgot everything, so
 * they alone would let the projector carry on past events whose views no longer exist. A
 * missing checkpoint is how the projector learns that the store is not the one it fed. (Keys
 * are computed in the script, which a Redis Cluster would refuse; this lab runs one Redis node.)
 */
const APPLY_SCRIPT = `
local base, explicit, kind, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local version, doc, owner, score = tonumber(ARGV[5]), ARGV[6], ARGV[7], ARGV[8]
local function apply(gen)
  local key = base .. gen .. ':' .. kind .. ':' .. id
  local current = tonumber(redis.call('HGET', key, 'version') or '0')
  if version == current then return 'duplicate' end
  if version < current then return 'stale' end
  redis.call('HSET', key, 'version', version, 'doc', doc)
  if kind == 'product' then
    local top = base .. gen .. ':top-products'
    local before = redis.call('ZREVRANK', top, id)
    redis.call('ZADD', top, score, id)
    -- The read model keeps the best-sellers' first page whole, so the query answers it with one
    -- read; only a product that is (or was) on that page changes it.
    if (before and before < ${TOP_PAGE}) or redis.call('ZREVRANK', top, id) < ${TOP_PAGE} then
      local docs = {}
      for _, productId in ipairs(redis.call('ZREVRANGE', top, 0, ${TOP_PAGE} - 1)) do
        local view = redis.call('HGET', base .. gen .. ':product:' .. productId, 'doc')
        if view then docs[#docs + 1] = view end
      end
      redis.call('SET', top .. ':first-page', table.concat(docs, ','))
    end
  else
    local customer = base .. gen .. ':customer:' .. owner
    local orders = customer .. ':orders'
    redis.call('ZADD', orders, score, id)
    -- The read model keeps the customer's first page whole, so the query answers it with one
    -- read instead of a page of lookups; only an order on that page (or just after it) changes it.
    if redis.call('ZREVRANK', orders, id) <= ${FIRST_PAGE} then
      local ids = redis.call('ZREVRANGE', orders, 0, ${FIRST_PAGE})
      local docs = {}
      for i = 1, math.min(#ids, ${FIRST_PAGE}) do
        local view = redis.call('HGET', base .. gen .. ':order:' .. ids[i], 'doc')
        if view then docs[#docs + 1] = view end
      end
      redis.call('HSET', customer .. ':first-page', 'items', table.concat(docs, ','),
        'next', #ids > ${FIRST_PAGE} and ids[${FIRST_PAGE}] or '')
    end
  end
  return 'applied'
end
if explicit ~= '' then return apply(explicit) end
local checkpoint = base .. 'checkpoint'
if redis.call('EXISTS', checkpoint) == 0 then return 'lost' end
if ARGV[9] ~= '' then
  local after = tonumber(ARGV[10]) + 1
  if after > tonumber(redis.call('HGET', checkpoint, ARGV[9]) or '0') then
    redis.call('HSET', checkpoint, ARGV[9], after)
  end
end
local live = redis.call('GET', base .. 'generation') or '${DEFAULT_GENERATION}'
local building = redis.call('GET', base .. 'building')
if building and building ~= live then apply(building) end
return apply(live)
`;

/**
 * Starts a heal if one is due: no checkpoint at all, or a heal whose projector stopped renewing
 * its lease (it crashed half-way). The new checkpoint says "healing until these offsets" and is
 * created here, so live events are applied again from this instant while the replay fills in
 * everything before `until`. Several projectors may race; exactly one wins.
 */
const BEGIN_HEAL_SCRIPT = `
local checkpoint, lease = ARGV[1] .. 'checkpoint', ARGV[1] .. 'heal-lease'
local state = redis.call('HGET', checkpoint, 'state')
if state == 'ready' then return 0 end
if state == 'healing' and redis.call('EXISTS', lease) == 1 then return 0 end
redis.call('HSET', checkpoint, 'state', 'healing', 'until', ARGV[3], 'since', ARGV[4])
redis.call('SET', lease, ARGV[2], 'PX', ARGV[5])
return 1
`;

/** Renews the healer's lease; 0 when it lost it (store emptied again, or another healer). */
const RENEW_HEAL_SCRIPT = `
if redis.call('GET', ARGV[1] .. 'heal-lease') ~= ARGV[2] then return 0 end
redis.call('PEXPIRE', ARGV[1] .. 'heal-lease', ARGV[3])
return 1
`;

/** Marks the read model complete, but only for the heal that still owns the lease. */
const FINISH_HEAL_SCRIPT = `
local checkpoint, lease = ARGV[1] .. 'checkpoint', ARGV[1] .. 'heal-lease'
if redis.call('GET', lease) ~= ARGV[2] then return 0 end
if redis.call('HGET', checkpoint, 'state') ~= 'healing' then return 0 end
redis.call('HSET', checkpoint, 'state', 'ready')
redis.call('HDEL', checkpoint, 'until', 'since')
redis.call('DEL', lease)
return 1
`;

export type CheckpointState = 'missing' | 'healing' | 'orphaned' | 'ready';

interface WithApply {
  cqrsApply: (...args: (string | number)[]) => Promise<ApplyOutcome>;
  cqrsBeginHeal: (...args: (string | number)[]) => Promise<number>;
  cqrsRenewHeal: (...args: (string | number)[]) => Promise<number>;
  cqrsFinishHeal: (...args: (string | number)[]) => Promise<number>;
}

export function createReadModelRepository(redis: Redis, prefix: string) {
  const base = readModelBase(prefix);
  const scripts = {
    cqrsApply: APPLY_SCRIPT,
    cqrsBeginHeal: BEGIN_HEAL_SCRIPT,
    cqrsRenewHeal: RENEW_HEAL_SCRIPT,
    cqrsFinishHeal: FINISH_HEAL_SCRIPT,
  };
  for (const [name, lua] of Object.entries(scripts))
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 0, lua });
  const commands = redis as unknown as WithApply;
  /**
   * With an explicit generation (a rebuild's replay) the update goes there only and leaves the
   * checkpoint alone. A live event passes its position so the checkpoint advances with it; a
   * replayed one passes none (the replay runs behind the live consumer, not ahead of it).
   */
  const apply = (
    update: ViewUpdate,
    generation = '',
    position?: EventPosition,
  ): Promise<ApplyOutcome> =>
    commands.cqrsApply(
      base,
      generation,
      update.kind,
      update.id,
      update.version,
      JSON.stringify(update.doc),
      update.index.owner,
      update.index.score,
      position ? `p${position.partition}` : '',
      position?.offset ?? '0',
    );

  const checkpointState = async (): Promise<CheckpointState> => {
    const [state, leased] = await redis
      .multi()
      .hget(`${base}checkpoint`, 'state')
      .exists(`${base}heal-lease`)
      .exec()
      .then((replies) => (replies ?? []).map(([error, value]) => (error ? null : value)));
    if (state === 'ready') return 'ready';
    if (state === 'healing') return leased === 1 ? 'healing' : 'orphaned';
    return 'missing';
  };

  /** Every key of one generation, dropped without blocking Redis (UNLINK, in SCAN pages). */
  const dropGeneration = async (generation: string) => {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${base}${generation}:*`,
        'COUNT',
        1000,
      );
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  };

  const countViews = async (generation: string, kind: 'product' | 'order') => {
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${base}${generation}:${kind}:*`,
        'COUNT',
        1000,
      );
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
    return count;
  };

  return {
    base,
    apply,
    checkpointState,
    liveGeneration: async () => (await redis.get(`${base}generation`)) ?? DEFAULT_GENERATION,
    /** The generation being built, if any. */
    buildingGeneration: () => redis.get(`${base}building`),
    /**
     * Names `generation` as the one being built: from this instant every live event is applied
     * to it too (the apply script reads `building`). False when another rebuild holds it.
     */
    announceBuilding: async (generation: string) =>
      (await redis.set(`${base}building`, generation, 'NX')) !== null,
    clearBuilding: async () => {
      await redis.del(`${base}building`);
    },
    /** Points readers at `generation` and nothing else. */
    setLiveGeneration: async (generation: string) => {
      await redis.set(`${base}generation`, generation);
    },
    /** Points readers at `generation` and clears `building` in one MULTI. */
    switchGeneration: async (generation: string) => {
      await redis.multi().set(`${base}generation`, generation).del(`${base}building`).exec();
    },
    dropGeneration,
    countViews: async (generation: string) => ({
      products: await countViews(generation, 'product'),
      orders: await countViews(generation, 'order'),
    }),
    beginHeal: async (owner: string, until: Record<number, number>, leaseMs: number) =>
      (await commands.cqrsBeginHeal(
        base,
        owner,
        JSON.stringify(until),
        new Date().toISOString(),
        leaseMs,
      )) === 1,
    renewHeal: async (owner: string, leaseMs: number) =>
      (await commands.cqrsRenewHeal(base, owner, leaseMs)) === 1,
    finishHeal: async (owner: string) => (await commands.cqrsFinishHeal(base, owner)) === 1,
  };
}

export type ReadModelRepository = ReturnType<typeof createReadModelRepository>;
