/**
 * Domain events as the command side writes them to the outbox. Each event carries the
 * aggregate's resulting state next to what changed, so a projector can apply it with a simple
 * version check, and a replay of the event topic alone (the projector's heal or rebuild) brings
 * every view back.
 */
export type AggregateType = 'product' | 'order';

export interface DomainEvent {
  aggregateType: AggregateType;
  aggregateId: string;
  aggregateVersion: number;
  type: string;
  payload: Record<string, unknown>;
}

export interface ProductState {
  productId: string;
  sku: string;
  name: string;
  priceCents: number;
  stock: number;
  unitsSold: number;
}

export interface OrderLineState {
  productId: string;
  productName: string;
  quantity: number;
  unitPriceCents: number;
}

export interface OrderState {
  orderId: string;
  customerId: string;
  status: 'placed' | 'cancelled';
  totalCents: number;
  placedAt: string;
  lines: OrderLineState[];
}

export const productEvent = (
  type: 'ProductCreated' | 'ProductRestocked' | 'ProductSold' | 'ProductSaleReverted',
  version: number,
  state: ProductState,
  change: Record<string, unknown> = {},
): DomainEvent => ({
  aggregateType: 'product',
  aggregateId: state.productId,
  aggregateVersion: version,
  type,
  payload: { ...change, state },
});

export const orderEvent = (
  type: 'OrderPlaced' | 'OrderCancelled',
  version: number,
  state: OrderState,
): DomainEvent => ({
  aggregateType: 'order',
  aggregateId: state.orderId,
  aggregateVersion: version,
  type,
  payload: { state },
});
