import { PoisonMessageError } from '@lab/shared/kafka';
import {
  ORDER_EVENTS,
  OrderState,
  PRODUCT_EVENTS,
  ProductState,
  type EventEnvelope,
} from './events.ts';
import { orderView } from './order-view.projection.ts';
import { productView, type ViewUpdate } from './product-view.projection.ts';

/**
 * Turns an event into the read-model update it implies. An event this projector cannot
 * understand will never become understandable by retrying, so it is poison: the consumer
 * dead-letters it and the partition moves on.
 */
export function projectEvent(event: EventEnvelope): ViewUpdate {
  const state = event.payload.state;
  if (event.aggregateType === 'product' && PRODUCT_EVENTS.includes(event.type)) {
    const parsed = ProductState.safeParse(state);
    if (!parsed.success)
      throw new PoisonMessageError(`bad ${event.type} state: ${parsed.error.message}`);
    return productView(parsed.data, event.aggregateVersion);
  }
  if (event.aggregateType === 'order' && ORDER_EVENTS.includes(event.type)) {
    const parsed = OrderState.safeParse(state);
    if (!parsed.success)
      throw new PoisonMessageError(`bad ${event.type} state: ${parsed.error.message}`);
    return orderView(parsed.data, event.aggregateVersion);
  }
  throw new PoisonMessageError(`unknown event type ${event.aggregateType}/${event.type}`);
}
