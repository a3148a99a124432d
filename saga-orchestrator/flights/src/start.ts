/**
 * The flights participant: limited inventory held by PENDING reservations (the saga's semantic
 * lock), confirmed after the payment pivot or cancelled by a compensation. It wires its
 * settings, its database (its own migrations), its routes and use cases, then listens; the
 * mechanics it shares with hotels and cars come from the participant kit.
 */
import { runParticipant } from '@lab/saga-participant-kit';
import { config } from './config.ts';
import { adminRoutes, routes } from './entry-points/api/reservations.routes.ts';

await runParticipant({
  service: 'flights',
  config,
  migrationsDir: new URL('./data-access/migrations', import.meta.url).pathname,
  routes,
  adminRoutes,
});
