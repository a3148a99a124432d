import { Chaos } from '@lab/shared/chaos';

export const ROUTES = ['prices', 'stock'] as const;
export type SupplierRoute = (typeof ROUTES)[number];

/**
 * The ways the supplier fails its callers: a 5xx `error`, a `hang` only the caller's timeout
 * ends, a `reset` connection, and `down` (503 at once: both routes share one listener, so a
 * single route cannot refuse TCP connections; a supplier with no healthy instance behind a
 * load balancer looks exactly like this to its callers). A read-only supplier has no business
 * "no" and no effect to lose, so `reject` and `lose-response` are refused.
 */
export const SUPPLIER_FAULTS = ['error', 'hang', 'reset', 'down'] as const;
export type FaultKind = 'none' | (typeof SUPPLIER_FAULTS)[number];

/** The shared chaos engine (@lab/shared/chaos): one /_chaos body for every lab service. */
export const createSupplierChaos = (hangMaxMs: number) =>
  new Chaos({ targets: ROUTES, faults: SUPPLIER_FAULTS, hangMaxMs });

export type SupplierChaos = ReturnType<typeof createSupplierChaos>;
