import { z } from 'zod';

/** The event envelope the relay publishes; anything else is dead-lettered by the consumer. */
export const EventEnvelope = z.object({
  eventId: z.number().int(),
  aggregateType: z.enum(['product', 'order']),
  aggregateId: z.uuid(),
  aggregateVersion: z.number().int().positive(),
  type: z.string().min(1),
  payload: z.record(z.string(), z.unknown()),
  occurredAt: z.iso.datetime(),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

export const ProductState = z.object({
  productId: z.uuid(),
  sku: z.string(),
  name: z.string(),
  priceCents: z.number().int().nonnegative(),
  stock: z.number().int().nonnegative(),
  unitsSold: z.number().int().nonnegative(),
});

export const OrderState = z.object({
  orderId: z.uuid(),
  customerId: z.string().min(1),
  status: z.enum(['placed', 'cancelled']),
  totalCents: z.number().int().nonnegative(),
  placedAt: z.iso.datetime(),
  lines: z
    .array(
      z.object({
        productId: z.uuid(),
        productName: z.string(),
        quantity: z.number().int().positive(),
        unitPriceCents: z.number().int().nonnegative(),
      }),
    )
    .min(1),
});

export const PRODUCT_EVENTS = [
  'ProductCreated',
  'ProductRestocked',
  'ProductSold',
  'ProductSaleReverted',
];
export const ORDER_EVENTS = ['OrderPlaced', 'OrderCancelled'];
