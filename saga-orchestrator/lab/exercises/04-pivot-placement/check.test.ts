import { afterAll, beforeAll, expect, test } from 'vitest';
import { bookTrip, chaos, createStock, tripRequest, waitForStatus } from '../../src/client.ts';
import type { SagaLab } from '../../src/services.ts';
import {
  stepRetrySettings,
  validateSaga,
  type StepRetrySettings,
  type SagaDefinition,
} from '@lab/saga-orchestrator/seams';
import { exerciseLab, policyModule } from '../exercise-lab.ts';

let lab: SagaLab | undefined;
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
    startError = (error as Error).message;
    return;
  }
  lab = await exerciseLab(import.meta.url).catch((error: unknown) => {
    startError = (error as Error).message;
    return undefined;
  });
});
afterAll(async () => {
  await lab?.stop();
});

test('When the car is sold out, then nothing has been charged and every hold is released', async () => {
  expect(startError, 'the orchestrator refused your saga definition').toBe('');
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
