import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const sagaDir = join(import.meta.dirname, '..', '..');
const migrationsOf = (participant: string) => {
  const dir = join(sagaDir, participant, 'src', 'data-access', 'migrations');
  return Object.fromEntries(
    readdirSync(dir).map((file) => [file, readFileSync(join(dir, file), 'utf8')]),
  );
};

test('When flights, hotels and cars migrate their databases, then they run the same schema the participant kit reads', () => {
  // Each service owns its database and its migrations; the kit's repositories serve all three,
  // so one schema drifting from the others would break only that participant.
  const flights = migrationsOf('flights');
  expect(Object.keys(flights)).toEqual(['001_inventory_reservations.sql']);
  expect(migrationsOf('hotels')).toEqual(flights);
  expect(migrationsOf('cars')).toEqual(flights);
});
