/**
 * `pnpm lab saga verify`: the saga's promise checked against all five databases. A saga has
 * no transaction spanning services, so this audit is how you know the compensations and the
 * idempotency did their job: every trip is fully booked or fully undone, nothing leaked.
 */
import pg from 'pg';
import { databaseUrlFor } from '@lab/shared/pg';
import type { Databases } from './services.ts';

interface Saga {
  id: string;
  status: string;
  request: {
    flight: { id: string };
    hotel: { id: string };
    car: { id: string };
    payment: { amountCents: number };
  };
  overdue: boolean;
}
interface Reservation {
  id: string;
  inventory_id: string | null;
  status: string;
}
interface Charge {
  id: string;
  /** BIGINT: a plain pg client returns it as a string, so it is compared through Number. */
  amount_cents: string;
  status: string;
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  // A server that goes away mid-audit fails the query; without a listener it would also crash.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

const inventoryKinds = [
  ['flights', 'flight'],
  ['hotels', 'hotel'],
  ['cars', 'car'],
] as const;

/**
 * Where the audit reads each wiring's rows: the database URL and the name of each table. The
 * split lab keeps one database per service; the monolith one database with a schema per module.
 */
interface Source {
  url: (owner: keyof Databases) => string;
  table: (owner: keyof Databases, table: string) => string;
  /** The trips, with `overdue` true for one still running past its deadline. */
  tripsSql: string;
}

/** `sagaLogUrl`: the saga log's server when it is not the participants' (`adminUrl`). */
export async function auditSaga(
  adminUrl: string,
  databases: Databases,
  sagaLogUrl = adminUrl,
): Promise<string[]> {
  return audit({
    url: (name) => databaseUrlFor(name === 'orchestrator' ? sagaLogUrl : adminUrl, databases[name]),
    table: (_owner, table) => table,
    tripsSql: `SELECT id, status, request,
            (status NOT IN ('COMPLETED', 'COMPENSATED') AND deadline_at < now()) AS overdue
       FROM sagas`,
  });
}

/**
 * The same promise checked in the modular monolith's one database: every trip fully booked or
 * not at all, every count matching its reservations. A trip is written in one transaction, so
 * none is ever left running (its status is final at commit).
 */
export async function auditMonolith(adminUrl: string, database: string): Promise<string[]> {
  return audit({
    url: () => databaseUrlFor(adminUrl, database),
    table: (owner, table) => `${owner === 'orchestrator' ? 'trips' : owner}.${table}`,
    tripsSql: `SELECT id, status, request, status NOT IN ('COMPLETED', 'COMPENSATED') AS overdue
       FROM trips.trips`,
  });
}

async function audit(source: Source): Promise<string[]> {
  const { url, table } = source;
  const violations: string[] = [];
  const sagas = await query<Saga>(url('orchestrator'), source.tripsSql);
  const byId = new Map(sagas.map((saga) => [saga.id, saga]));
  for (const saga of sagas)
    if (saga.overdue) violations.push(`trip ${saga.id} is ${saga.status} past its deadline`);

  for (const [db, field] of inventoryKinds) {
    const reservations = await query<Reservation>(
      url(db),
      `SELECT id, inventory_id, status FROM ${table(db, 'reservations')}`,
    );
    const found = new Map(reservations.map((r) => [r.id, r]));
    for (const saga of sagas) {
      const reservation = found.get(saga.id);
      if (saga.status === 'COMPLETED') {
        if (reservation?.status !== 'CONFIRMED')
          violations.push(
            `COMPLETED trip ${saga.id} has ${field} reservation ${reservation?.status ?? 'missing'}, expected CONFIRMED`,
          );
        else if (reservation.inventory_id !== saga.request[field].id)
          violations.push(`COMPLETED trip ${saga.id} holds the wrong ${field}`);
      }
      if (
        saga.status === 'COMPENSATED' &&
        (reservation?.status === 'PENDING' || reservation?.status === 'CONFIRMED')
      )
        violations.push(
          `COMPENSATED trip ${saga.id} still has an active ${field} reservation (${reservation.status})`,
        );
    }
    for (const reservation of reservations) {
      const active = reservation.status === 'PENDING' || reservation.status === 'CONFIRMED';
      if (active && !byId.has(reservation.id))
        violations.push(`${db}: active reservation ${reservation.id} belongs to no trip`);
    }
    const counts = await query<{
      id: string;
      capacity: number;
      held: number;
      confirmed: number;
      pending: number;
      sold: number;
    }>(
      url(db),
      `SELECT i.id, i.capacity, i.held, i.confirmed,
              count(*) FILTER (WHERE r.status = 'PENDING')::int AS pending,
              count(*) FILTER (WHERE r.status = 'CONFIRMED')::int AS sold
         FROM ${table(db, 'inventory')} i
         LEFT JOIN ${table(db, 'reservations')} r ON r.inventory_id = i.id
        GROUP BY i.id`,
    );
    for (const row of counts) {
      if (row.held !== row.pending || row.confirmed !== row.sold)
        violations.push(
          `${db}: inventory ${row.id} counts held=${row.held}/confirmed=${row.confirmed} but reservations say ${row.pending}/${row.sold} (leak)`,
        );
      if (row.held + row.confirmed > row.capacity)
        violations.push(
          `${db}: inventory ${row.id} oversold: ${row.held + row.confirmed} > ${row.capacity}`,
        );
    }
  }

  const charges = await query<Charge>(
    url('payments'),
    `SELECT id, amount_cents, status FROM ${table('payments', 'charges')}`,
  );
  const chargeOf = new Map(charges.map((c) => [c.id, c]));
  for (const saga of sagas) {
    const charge = chargeOf.get(saga.id);
    if (
      saga.status === 'COMPLETED' &&
      (charge?.status !== 'CAPTURED' ||
        Number(charge.amount_cents) !== saga.request.payment.amountCents)
    )
      violations.push(
        `COMPLETED trip ${saga.id} has charge ${charge ? `${charge.status} ${charge.amount_cents}` : 'missing'}, expected CAPTURED ${saga.request.payment.amountCents}`,
      );
    if (saga.status === 'COMPENSATED' && charge?.status === 'CAPTURED')
      violations.push(
        `COMPENSATED trip ${saga.id} still has a captured charge of ${charge.amount_cents}`,
      );
  }
  for (const charge of charges)
    if (charge.status === 'CAPTURED' && !byId.has(charge.id))
      violations.push(`payments: captured charge ${charge.id} belongs to no trip`);
  // The card's lock serialises charges so that racing trips cannot pass its limit together.
  const overdrawn = await query<{ token: string; limit_cents: string; captured: string }>(
    url('payments'),
    `SELECT c.token, c.limit_cents, sum(ch.amount_cents) AS captured
       FROM ${table('payments', 'cards')} c
       JOIN ${table('payments', 'charges')} ch ON ch.card_token = c.token AND ch.status = 'CAPTURED'
      GROUP BY c.token, c.limit_cents
     HAVING sum(ch.amount_cents) > c.limit_cents`,
  );
  for (const card of overdrawn)
    violations.push(
      `payments: card ${card.token} captured ${card.captured}, over its limit of ${card.limit_cents}`,
    );
  return violations;
}
