/**
 * `pnpm lab saga demo`: the saga working and failing, narrated. It starts its own services on
 * free ports with throwaway databases, so it never touches the data of `pnpm lab saga up`.
 */
import { auditSaga } from '../audit.ts';
import {
  bookTrip,
  chaos,
  createInventory,
  createStock,
  post,
  tripRequest,
  waitForStatus,
  type Trip,
} from '../client.ts';
import {
  adminDatabaseUrl,
  dropOwnedDatabases,
  startSagaLab,
  uniqueDatabases,
  type SagaLab,
} from '../services.ts';

const say = (text: string) => process.stdout.write(`\n== ${text}\n`);
const show = (trip: Trip) => {
  process.stdout.write(
    `   trip ${trip.tripId}: ${trip.status}${trip.failureReason ? ` (${trip.failureReason})` : ''}\n`,
  );
  for (const step of trip.timeline)
    process.stdout.write(
      `     ${step.kind === 'compensation' ? '↩' : '→'} ${step.name.padEnd(15)} ${step.state.padEnd(10)} attempts=${step.attempts}${step.lastError ? `  last error: ${step.lastError}` : ''}\n`,
    );
};

/** Exit status 0 when the auditor finds every trip fully booked or fully undone. */
export async function demo(): Promise<number> {
  const adminUrl = adminDatabaseUrl();
  const databases = uniqueDatabases('demo');
  say('Starting orchestrator, flights, hotels, cars and payments (each with its own database)');
  let lab: SagaLab | undefined;
  try {
    lab = await startSagaLab({
      databases,
      // LOG_LEVEL reaches the services as in the other labs' demos. The demo prints its own
      // narration, not their lines, which the test kit keeps in memory; unset, the
      // participants log warnings only and the orchestrator each step's outcome.
      env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
      orchestratorEnv: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
    });
    const stock = await createStock(lab.urls, 10);
    const o = lab.urls.orchestrator;

    say('1. Happy path: reserve flight, hotel, car; charge (the pivot); confirm all three');
    show(await waitForStatus(o, await bookTrip(o, tripRequest(stock))));

    say(
      '2. The last hotel room is gone: the reservations made so far are compensated, newest first',
    );
    const oneRoom = { ...stock, hotel: await createInventory(lab.urls.hotels, 1) };
    await waitForStatus(o, await bookTrip(o, tripRequest(oneRoom)));
    show(await waitForStatus(o, await bookTrip(o, tripRequest(oneRoom))));

    say('3. The card is declined at the pivot: all three holds are released, nothing charged');
    await post(`${lab.urls.payments}/cards`, { cardToken: 'card-small', limitCents: 1000 });
    show(
      await waitForStatus(o, await bookTrip(o, tripRequest(stock, { cardToken: 'card-small' }))),
    );

    say(
      '4. Hotels fails twice with 500 and payments loses its answer: retries with the same idempotency key, one effect each',
    );
    await chaos(lab.urls.hotels, { target: 'action', faults: { error: 1 }, next: 2 });
    await chaos(lab.urls.payments, { target: 'action', faults: { 'lose-response': 1 }, next: 1 });
    show(await waitForStatus(o, await bookTrip(o, tripRequest(stock))));

    say(
      '5. The orchestrator is SIGKILLed right after the charge, before logging it; a restart resumes from the log',
    );
    await lab.services.orchestrator?.stop();
    const doomed = await lab.startOrchestrator({ LAB_CRASH_AT: 'after-call:charge-payment' });
    const tripId = await bookTrip(doomed.url, tripRequest(stock));
    await doomed.exited;
    process.stdout.write('   orchestrator killed mid-saga; restarting it\n');
    const restarted = await lab.startOrchestrator();
    show(await waitForStatus(restarted.url, tripId));

    say('6. The auditor checks all five databases: fully booked or fully undone, nothing leaked');
    const violations = await auditSaga(adminUrl, databases);
    process.stdout.write(
      violations.length === 0 ? '   verify: no violations\n' : `${violations.join('\n')}\n`,
    );
    return violations.length === 0 ? 0 : 1;
  } finally {
    // Also when a step failed: every service stopped, the five demo databases dropped.
    await (lab ? lab.stop() : dropOwnedDatabases(databases));
  }
}
