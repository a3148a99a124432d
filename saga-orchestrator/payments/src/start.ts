/**
 * The payments participant. Its charge is the saga's pivot: authorise and capture in one
 * idempotent call. After it succeeds the trip can only go forward; before it, everything can
 * still be undone. Refund exists for the one case the pivot is ambiguous (a charge whose
 * answer was lost past its retry budget) and for operators.
 */
import { runParticipant } from '@lab/saga-participant-kit';
import { config } from './config.ts';
import { cardRoutes, chargeRoutes } from './entry-points/api/charges.routes.ts';

await runParticipant({
  service: 'payments',
  config,
  migrationsDir: new URL('./data-access/migrations', import.meta.url).pathname,
  routes: chargeRoutes,
  adminRoutes: cardRoutes,
});
