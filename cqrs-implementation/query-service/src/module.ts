/**
 * The query module's public face for a host other than this service's own start.ts: the same
 * routes and validation, over any store that answers the ReadModelRepository's questions. The
 * modular monolith passes one that answers them by SQL joins over the write model.
 */
export type { ReadModelRepository } from './data-access/read-model.repository.ts';
export { decodeToken } from './domain/consistency.ts';
export { readRoutes } from './entry-points/api/read.routes.ts';
