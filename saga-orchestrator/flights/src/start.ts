/**
 * The flights participant: limited inventory held by PENDING reservations (the saga's semantic
 * lock), confirmed after the payment pivot or cancelled by a compensation. It wires its
 * settings, its database (the kit's inventory schema), its routes and use cases, then listens; the
 * mechanics it shares with hotels and cars come from the participant kit.
 */
import { inventoryMigrationsDir, runParticipant } from '@lab/saga-participant-kit';
import { config } from './config.ts';
import { adminRoutes, routes } from './entry-points/api/reservations.routes.ts';

await runParticipant({
  service: 'flights',
  config,
  migrationsDir: inventoryMigrationsDir,
  routes,
  adminRoutes,
});
