import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import {
  bookTrip,
  chaos,
  clearChaos,
  createStock,
  tripRequest,
  waitForStatus,
} from '../../src/client.ts';
import type { SagaLab } from '../../src/services.ts';
import {
  stepRetrySettings,
  validateSaga,
  type StepRetrySettings,
  type SagaDefinition,
} from '@lab/saga-orchestrator/seams';
import { exerciseLab, policyModule } from '../exercise-lab.ts';

let lab: SagaLab | undefined;
/** Why the definition was refused: the exercise's own failure. */
let refusal = '';
/** Why the lab did not start with an accepted definition: a problem of the machine, not of the answer. */
let startError = '';
beforeAll(async () => {
  // The orchestrator runs this same validation at start-up and exits on a definition with a
  // compensatable step after the pivot; checking here first reports it without the wait.
  const { sagaDefinition } = (await import(policyModule(import.meta.url))) as {
    sagaDefinition: (retry: StepRetrySettings) => SagaDefinition<unknown>;
  };
  try {
    validateSaga(sagaDefinition(stepRetrySettings()));
  } catch (error) {
    refusal = (error as Error).message;
    return;
  }
  lab = await exerciseLab(import.meta.url).catch((error: unknown) => {
    startError = (error as Error).message;
    return undefined;
  });
});
// The participants may be shared with other checks: a fault left behind would meet theirs.
afterEach(async () => {
  if (lab) await clearChaos(lab.urls.cars);
});
afterAll(async () => {
  await lab?.stop();
});

test('When the car is sold out, then nothing has been charged and every hold is released', async () => {
  expect(refusal, 'the orchestrator refused your saga definition').toBe('');
  expect(startError, 'the lab did not start, although your saga definition is valid').toBe('');
  const { urls } = lab!;
  const stock = await createStock(urls, 2);
  await chaos(urls.cars, { target: 'action', faults: { reject: 1 }, next: 1 });

  const trip = await waitForStatus(
    urls.orchestrator,
    await bookTrip(urls.orchestrator, tripRequest(stock)),
  );

  expect(
    trip.status,
    'a sold-out car must end the trip, so reserve-car cannot come after the pivot',
  ).toBe('COMPENSATED');
  expect(
    trip.timeline.filter((step) => step.name === 'charge-payment').map((step) => step.state),
    'charge-payment ran although the car was sold out: the card is charged before every hold is taken',
  ).toEqual([]);
});
