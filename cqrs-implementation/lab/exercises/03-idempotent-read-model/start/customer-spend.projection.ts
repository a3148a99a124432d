import type { Redis } from '@lab/shared/redis';
import type { EventEnvelope } from '@lab/cqrs-projector/seams';

interface OrderState {
  customerId: string;
  totalCents: number;
}

/**
 * Exercise 03: a new read model, how much each customer has spent (placed minus cancelled),
 * kept in one hash: cqrs:customer-spend { customerId -> cents }.
 *
 * It is right the first time through the topic. Kafka delivers at least once, though: a
 * projector killed before committing its offsets, or a replay of the topic, delivers the same
 * events again, and every redelivery counts the money again.
 */
export function createProjection(redis: Redis, keyPrefix: string) {
  const key = `${keyPrefix}cqrs:customer-spend`;
  return async (event: EventEnvelope): Promise<void> => {
    const state = event.payload.state as OrderState;
    if (event.type === 'OrderPlaced') await redis.hincrby(key, state.customerId, state.totalCents);
    if (event.type === 'OrderCancelled')
      await redis.hincrby(key, state.customerId, -state.totalCents);
  };
}
