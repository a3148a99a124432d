/**
 * The cars participant: limited inventory held by PENDING reservations (the saga's semantic
 * lock), confirmed after the payment pivot or cancelled by a compensation. The behaviour is
 * shared with the other inventory participants in @lab/saga-participant-kit.
 */
import { runInventoryParticipant } from '@lab/saga-participant-kit';

await runInventoryParticipant('cars', { port: 3204, database: 'saga_cars' });
