/**
 * The command module's public face for a host other than this service's own start.ts: the
 * modular monolith mounts the same routes (validation, commands, invariants) on its own app and
 * passes `noOutbox`, because in one process on one database nobody downstream waits for events.
 */
import { join } from 'node:path';

export { noOutbox, type Outbox } from './data-access/outbox.repository.ts';
export { orderRoutes } from './entry-points/api/orders.routes.ts';
export { productRoutes } from './entry-points/api/products.routes.ts';

/** The write model's schema: whoever hosts the commands migrates it. */
export const writeModelMigrations = join(import.meta.dirname, 'data-access', 'migrations');
