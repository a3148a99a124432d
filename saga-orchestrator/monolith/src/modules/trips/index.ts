/**
 * The trips module: the public API (`POST /trips`, `GET /trips/:id`, `GET /trips`) and the booking that
 * calls the other modules through the ports declared in its domain.
 */
export { tripRoutes } from './entry-points/api/trips.routes.ts';
export type { BookingPorts, InventoryPort, PaymentPort } from './domain/book-trip.ts';
