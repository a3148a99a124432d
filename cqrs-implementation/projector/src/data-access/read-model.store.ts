import type { Redis } from '@lab/shared/redis';
import type { ViewUpdate } from '../domain/product-view.projection.ts';

/**
 * Read-model key layout (all under REDIS_KEY_PREFIX):
 *   cqrs:generation                       the live generation, e.g. "g1" (absent means g1)
 *   cqrs:building                         a generation being rebuilt, also fed by the projector
 *   cqrs:<gen>:product:<id>               hash {version, doc}
 *   cqrs:<gen>:order:<id>                 hash {version, doc}
 *   cqrs:<gen>:top-products               sorted set, score = units sold
 *   cqrs:<gen>:customer:<id>:orders       sorted set, score = placed-at ms
 * The query service reads the same layout (its own copy of it: services share no code).
 */
export const readModelBase = (prefix: string) => `${prefix}cqrs:`;
export const DEFAULT_GENERATION = 'g1';

export type ApplyOutcome = 'applied' | 'duplicate' | 'stale';

/**
 * Applies one view update atomically with a per-aggregate version check. Redis runs the
 * script as one unit, so there is no window between "check the version" and "write": a
 * redelivered event (duplicate) or an older one arriving late (stale) changes nothing, and a
 * projector killed at any instant leaves either the whole update or none of it.
 *
 * With no explicit generation, the update goes to the live generation and, during a rebuild,
 * to the one being built too, decided inside the script so an event can never slip between
 * "rebuild started" and "projector noticed". (Keys are computed in the script, which a Redis
 * Cluster would refuse; this lab runs one Redis node.)
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
    redis.call('ZADD', base .. gen .. ':top-products', score, id)
  else
    redis.call('ZADD', base .. gen .. ':customer:' .. owner .. ':orders', score, id)
  end
  return 'applied'
end
if explicit ~= '' then return apply(explicit) end
local live = redis.call('GET', base .. 'generation') or '${DEFAULT_GENERATION}'
local building = redis.call('GET', base .. 'building')
if building and building ~= live then apply(building) end
return apply(live)
`;

interface WithApply {
  cqrsApply: (...args: (string | number)[]) => Promise<ApplyOutcome>;
}

export function createReadModelStore(redis: Redis, prefix: string) {
  const base = readModelBase(prefix);
  if (!('cqrsApply' in redis))
    redis.defineCommand('cqrsApply', { numberOfKeys: 0, lua: APPLY_SCRIPT });
  const run = (redis as unknown as WithApply).cqrsApply.bind(redis);
  const apply = (update: ViewUpdate, generation = ''): Promise<ApplyOutcome> =>
    run(
      base,
      generation,
      update.kind,
      update.id,
      update.version,
      JSON.stringify(update.doc),
      update.index.owner,
      update.index.score,
    );
  return { base, apply };
}
