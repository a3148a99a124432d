import type { Redis } from '@lab/shared/redis';
import type { NearCache } from './near-cache.ts';

/**
 * Reads the read models the projector writes. The key layout is documented in the projector's
 * projector/src/data-access/read-model.repository.ts and repeated in this file's scripts: the
 * two services share no code but @lab/shared, so each deploys on its own, and the layout is
 * the contract between them, like an event's schema (a change to it changes both files).
 * Every read resolves the live generation inside a Lua script, in the
 * same round trip as the data, so a rebuild's switch is atomic for readers too: a request sees
 * the old generation or the new one, never a mix.
 *
 * The same round trip reads the projector's checkpoint: unless it says `ready`, the store has
 * forgotten the read model (a Redis restarted empty) and the projector is still replaying it,
 * so a missing view or a short list may be the loss, not the truth. The repository reports
 * that as ReadModelIncomplete and the query answers 503 read-model-behind, never a false 404.
 */
const GENERATION = `local gen = redis.call('GET', ARGV[1] .. 'generation') or 'g1'
local base = ARGV[1] .. gen .. ':'`;
const COMPLETE = `redis.call('HGET', ARGV[1] .. 'checkpoint', 'state') == 'ready'`;
const LIVE = `local complete = ${COMPLETE}
${GENERATION}`;

const SCRIPTS = {
  // A view that is there is the answer whatever the checkpoint says, so the checkpoint is read
  // only when it is missing: one Redis call fewer on the hottest read.
  cqrsGetView: `${GENERATION}
local doc = redis.call('HGET', base .. ARGV[2] .. ':' .. ARGV[3], 'doc')
if doc then return {doc, 1} end
return {false, ${COMPLETE} and 1 or 0}`,
  cqrsVersions: `${LIVE}
local out = {}
for i = 2, #ARGV, 2 do
  out[#out + 1] = tonumber(redis.call('HGET', base .. ARGV[i] .. ':' .. ARGV[i + 1], 'version') or '0')
end
return out`,
  cqrsCustomerOrders: `${LIVE}
local key = base .. 'customer:' .. ARGV[2] .. ':orders'
local first = 0
if ARGV[3] ~= '' then
  local rank = redis.call('ZREVRANK', key, ARGV[3])
  if not rank then
    if complete then return false end
    return {{}, {}, 0}
  end
  first = rank + 1
end
local ids = redis.call('ZREVRANGE', key, first, first + tonumber(ARGV[4]))
local docs = {}
for i, id in ipairs(ids) do docs[i] = redis.call('HGET', base .. 'order:' .. id, 'doc') or '' end
return {ids, docs, complete and 1 or 0}`,
  cqrsCustomerFirstPage: `${LIVE}
local page = redis.call('HMGET', base .. 'customer:' .. ARGV[2] .. ':first-page', 'items', 'next')
return {page[1], page[2], complete and 1 or 0}`,
  cqrsTopProductsPage: `${LIVE}
return {redis.call('GET', base .. 'top-products:first-page'), complete and 1 or 0}`,
  cqrsTopProducts: `${LIVE}
local ids = redis.call('ZREVRANGE', base .. 'top-products', 0, tonumber(ARGV[2]) - 1)
local docs = {}
for i, id in ipairs(ids) do docs[i] = redis.call('HGET', base .. 'product:' .. id, 'doc') or '' end
return {docs, complete and 1 or 0}`,
};

type Script = (...args: (string | number)[]) => Promise<unknown>;

export class ReadModelIncomplete extends Error {
  constructor() {
    super('The read model is being restored from the event log.');
    this.name = 'ReadModelIncomplete';
  }
}

export type ViewKind = 'product' | 'order';

/** The page size the projector keeps each customer's first page at (its FIRST_PAGE). */
export const FIRST_PAGE = 20;
/** The page size the projector keeps the best-sellers' first page at (its TOP_PAGE). */
export const TOP_PAGE = 10;

/**
 * With a near cache, the three reads most requests make (a view, a customer's first page, the
 * best-sellers' page) are answered from memory when nothing changed them since; `uncached` is
 * the same repository reading Redis every time, for reads that must see it (a consistency
 * token's).
 */
export function createReadModelRepository(
  redis: Redis,
  prefix: string,
  nearCache?: NearCache,
): ReadModelRepository & { uncached: ReadModelRepository } {
  for (const [name, lua] of Object.entries(SCRIPTS))
    redis.defineCommand(name, { numberOfKeys: 0, lua });
  const scripts = redis as unknown as Record<keyof typeof SCRIPTS, Script>;
  const call = (name: keyof typeof SCRIPTS, ...args: (string | number)[]) =>
    scripts[name].call(redis, `${prefix}cqrs:`, ...args);
  return {
    ...reads(call, nearCache),
    uncached: reads(call, nearCache && { read: (_key, load) => nearCache.bypass(load) }),
  };
}

type Remember = Pick<NearCache, 'read'>;

function reads(
  call: (name: keyof typeof SCRIPTS, ...args: (string | number)[]) => Promise<unknown>,
  nearCache: Remember | undefined,
) {
  // Keyed like the Redis key below its generation; a document is its own size, near enough.
  const remembered = <T extends object | string>(
    key: string,
    load: () => Promise<T | undefined>,
    size: (value: T) => number,
  ) => (nearCache ? nearCache.read(key, load, size) : load());
  // A view document is stored in the shape the API answers with, so it travels as text from
  // Redis to the socket: parsing it only to serialise it again would be the read side's
  // biggest cost. An id whose document is missing (a rebuild in progress) is left out.
  const present = (docs: string[]) => docs.filter(Boolean);

  return {
    view(kind: ViewKind, id: string): Promise<string | undefined> {
      return remembered(
        `${kind}:${id}`,
        async () => {
          const [doc, complete] = (await call('cqrsGetView', kind, id)) as [string | null, number];
          if (doc) return doc;
          if (!complete) throw new ReadModelIncomplete();
          return undefined;
        },
        (doc) => doc.length,
      );
    },
    async versions(aggregates: readonly (readonly [ViewKind, string])[]): Promise<number[]> {
      return (await call('cqrsVersions', ...aggregates.flat())) as number[];
    },
    /** One page plus one extra entry, which tells whether there is a next page. Undefined for an unknown cursor. */
    async customerOrders(
      customerId: string,
      afterOrderId: string,
      limit: number,
    ): Promise<{ id: string; doc: string }[] | undefined> {
      const raw = (await call('cqrsCustomerOrders', customerId, afterOrderId, limit)) as
        [string[], string[], number] | null;
      if (raw === null) return undefined;
      const [ids, docs, complete] = raw;
      if (!complete) throw new ReadModelIncomplete();
      return ids.map((id, i) => ({ id, doc: docs[i] ?? '' })).filter((entry) => entry.doc);
    },
    /**
     * The customer's first FIRST_PAGE orders as the projector stored them: the docs already
     * joined by commas, and the id the next page starts after ('' when there is none).
     * Undefined when the store holds no such page (a customer without orders), so the caller
     * asks customerOrders, which knows an empty list from a read model still being restored.
     */
    customerFirstPage(customerId: string): Promise<{ items: string; next: string } | undefined> {
      return remembered(
        `customer:${customerId}:first-page`,
        async () => {
          const [items, next, complete] = (await call('cqrsCustomerFirstPage', customerId)) as [
            string | null,
            string | null,
            number,
          ];
          if (!complete) throw new ReadModelIncomplete();
          return items === null ? undefined : { items, next: next ?? '' };
        },
        (page) => page.items.length + page.next.length,
      );
    },
    /**
     * The TOP_PAGE best-sellers' docs as the projector stored them, joined by commas; undefined
     * when the store holds no such page (no product yet), so the caller asks topProducts.
     */
    topProductsPage(): Promise<{ items: string } | undefined> {
      return remembered(
        'top-products:first-page',
        async () => {
          const [items, complete] = (await call('cqrsTopProductsPage')) as [string | null, number];
          if (!complete) throw new ReadModelIncomplete();
          return items === null ? undefined : { items };
        },
        (page) => page.items.length,
      );
    },
    async topProducts(limit: number): Promise<string[]> {
      const [docs, complete] = (await call('cqrsTopProducts', limit)) as [string[], number];
      if (!complete) throw new ReadModelIncomplete();
      return present(docs);
    },
  };
}

export type ReadModelRepository = ReturnType<typeof reads>;
