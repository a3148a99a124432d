/**
 * The modular monolith against the lab's contract: the same API-level tests as the split lab,
 * through the same client, on one process and one database.
 */
import { afterAll, beforeAll } from 'vitest';
import { auditMonolith } from '../src/audit.ts';
import { startSagaMonolith, uniqueMonolithDatabase, type SagaMonolith } from '../src/services.ts';
import { tripsContract } from './trips.contract.ts';

let monolith: SagaMonolith;

beforeAll(async () => {
  monolith = await startSagaMonolith({ database: uniqueMonolithDatabase('contract') });
});
afterAll(async () => {
  await monolith.stop();
});

tripsContract(() => ({
  urls: monolith.urls,
  audit: () => auditMonolith(process.env.DATABASE_URL!, monolith.database),
}));
