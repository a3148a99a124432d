/**
 * The flights participant: limited inventory held by PENDING reservations (the saga's semantic
 * lock), confirmed after the payment pivot or cancelled by a compensation. Its reservation
 * rules, repositories and schema are the participant kit's, shared with the other inventory
 * participants; this service wires them to its own settings and routes, then listens.
 */
import { inventoryMigrations, runParticipant } from '@lab/saga-participant-kit';
import { config } from './config.ts';
import { adminRoutes, routes } from './entry-points/api/reservations.routes.ts';

await runParticipant({
  service: 'flights',
  config,
  migrationsDir: inventoryMigrations,
  routes,
  adminRoutes,
});
