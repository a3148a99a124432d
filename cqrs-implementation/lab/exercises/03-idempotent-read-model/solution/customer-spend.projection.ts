import type { Redis } from '@lab/shared/redis';
import type { EventEnvelope } from '@lab/cqrs-projector/seams';

interface OrderState {
  customerId: string;
  totalCents: number;
}

/**
 * The delta is applied only if this order's version is newer than the last one counted, and
 * the check, the increment and the new version are one Lua script: a crash can never leave
 * the money counted without the version recorded (or the other way round).
 */
const APPLY = `
local seen = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local version = tonumber(ARGV[2])
if version <= seen then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], version)
redis.call('HINCRBY', KEYS[1], ARGV[3], ARGV[4])
return 1
`;

export function createProjection(redis: Redis, keyPrefix: string) {
  const spend = `${keyPrefix}cqrs:customer-spend`;
  const versions = `${keyPrefix}cqrs:customer-spend:versions`;
  return async (event: EventEnvelope): Promise<void> => {
    if (event.type !== 'OrderPlaced' && event.type !== 'OrderCancelled') return;
    const state = event.payload.state as OrderState;
    const delta = event.type === 'OrderPlaced' ? state.totalCents : -state.totalCents;
    await redis.eval(
      APPLY,
      2,
      spend,
      versions,
      event.aggregateId,
      event.aggregateVersion,
      state.customerId,
      delta,
    );
  };
}
