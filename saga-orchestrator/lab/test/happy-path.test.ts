import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SpanRecord } from '@lab/shared/telemetry';
import { waitFor } from '@lab/shared/testkit';
import { auditSaga } from '../src/audit.ts';
import { bookTrip, createStock, inventory, tripRequest, waitForStatus } from '../src/client.ts';
import { startSagaLab, tolerantBudgets, uniqueDatabases, type SagaLab } from '../src/services.ts';

const spans = join(tmpdir(), `saga-happy-${process.pid}.jsonl`);
let lab: SagaLab;

beforeAll(async () => {
  lab = await startSagaLab({
    databases: uniqueDatabases('happy'),
    orchestratorEnv: tolerantBudgets,
    env: { LAB_TRACE_EXPORT: `file:${spans}` },
  });
});
afterAll(async () => {
  await lab.stop();
  rmSync(spans, { force: true });
});

describe('happy path', () => {
  test('When a trip is booked with stock everywhere, then it is COMPLETED, every participant confirmed and the charge captured', async () => {
    // Arrange
    const stock = await createStock(lab.urls, 5);

    // Act
    const tripId = await bookTrip(
      lab.urls.orchestrator,
      tripRequest(stock, { amountCents: 99_900 }),
    );
    const trip = await waitForStatus(lab.urls.orchestrator, tripId);

    // Assert
    expect(trip.status).toBe('COMPLETED');
    expect(trip.timeline.map((step) => `${step.name}:${step.state}`)).toEqual([
      'reserve-flight:SUCCEEDED',
      'reserve-hotel:SUCCEEDED',
      'reserve-car:SUCCEEDED',
      'charge-payment:SUCCEEDED',
      'confirm-flight:SUCCEEDED',
      'confirm-hotel:SUCCEEDED',
      'confirm-car:SUCCEEDED',
    ]);
    for (const [url, id] of [
      [lab.urls.flights, stock.flight],
      [lab.urls.hotels, stock.hotel],
      [lab.urls.cars, stock.car],
    ] as const)
      expect(await inventory(url, id)).toMatchObject({ held: 0, confirmed: 1, available: 4 });
    const charge = (await (await fetch(`${lab.urls.payments}/charges/${tripId}`)).json()) as object;
    expect(charge).toMatchObject({ status: 'CAPTURED', amountCents: 99_900 });
    expect(await auditSaga(process.env.DATABASE_URL!, lab.databases)).toEqual([]);
  });

  test('When the same Idempotency-Key is sent twice, then one trip is created and the second answer points to it', async () => {
    const stock = await createStock(lab.urls, 5);
    const body = tripRequest(stock);

    const first = await bookTrip(lab.urls.orchestrator, body, { 'idempotency-key': 'trip-once' });
    const second = await bookTrip(lab.urls.orchestrator, body, { 'idempotency-key': 'trip-once' });
    await waitForStatus(lab.urls.orchestrator, first);

    expect(second).toBe(first);
    expect(await inventory(lab.urls.hotels, stock.hotel)).toMatchObject({ confirmed: 1 });
  });

  test('When a trip completes, then the orchestrator and all four participants share one trace and the metrics count it', async () => {
    const stock = await createStock(lab.urls, 5);

    const tripId = await bookTrip(lab.urls.orchestrator, tripRequest(stock));
    await waitForStatus(lab.urls.orchestrator, tripId);

    const traceOfTrip = await waitFor('spans of every service in the trip trace', () => {
      const records = readFileSync(spans, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as SpanRecord);
      const root = records.find(
        (span) =>
          span.service === 'saga-orchestrator' &&
          span.name === 'saga charge-payment' &&
          span.attributes['saga.id'] === tripId,
      );
      if (!root) return undefined;
      const services = new Set(
        records.filter((span) => span.traceId === root.traceId).map((span) => span.service),
      );
      return services.size >= 5 ? services : undefined;
    });
    expect([...traceOfTrip].sort()).toEqual([
      'saga-cars',
      'saga-flights',
      'saga-hotels',
      'saga-orchestrator',
      'saga-payments',
    ]);
    const metrics = await (await fetch(`${lab.urls.orchestrator}/metrics`)).text();
    expect(metrics).toMatch(/saga_sagas\{status="COMPLETED"\} [3-9]/);
    expect(metrics).toMatch(
      /saga_step_duration_seconds_count\{step="charge-payment",outcome="ok"\} \d+/,
    );
  });
});
