import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SpanRecord } from '@lab/shared/telemetry';
import { waitFor } from '@lab/shared/testkit';
import { auditSaga } from '../src/audit.ts';
import { bookTrip, createStock, post, tripRequest, waitForStatus } from '../src/client.ts';
import { startSagaLab, tolerantBudgets, uniqueDatabases, type SagaLab } from '../src/services.ts';
import { tripsContract } from './trips.contract.ts';

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

tripsContract(() => ({
  urls: lab.urls,
  audit: () => auditSaga(process.env.DATABASE_URL!, lab.databases),
}));

describe('happy path', () => {
  test('When a trip completes, then its timeline shows the seven steps in order, pivot in the middle', async () => {
    const stock = await createStock(lab.urls, 5);

    const tripId = await bookTrip(lab.urls.orchestrator, tripRequest(stock));
    const trip = await waitForStatus(lab.urls.orchestrator, tripId);

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
  });

  test('When a trip is accepted, then the answer says PENDING: the booking runs after it, so a read right away may see it unfinished', async () => {
    const stock = await createStock(lab.urls, 5);

    const accepted = await post<{ tripId: string; status: string }>(
      `${lab.urls.orchestrator}/trips`,
      tripRequest(stock),
      {},
      [202],
    );
    const trip = await waitForStatus(lab.urls.orchestrator, accepted.tripId);

    expect(accepted.status).toBe('PENDING');
    expect(trip.status).toBe('COMPLETED');
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
    expect(metrics).toMatch(/saga_sagas\{status="COMPLETED"\} ([3-9]|\d{2,})\b/);
    expect(metrics).toMatch(
      /saga_step_duration_seconds_count\{step="charge-payment",outcome="ok"\} \d+/,
    );
  });
});
