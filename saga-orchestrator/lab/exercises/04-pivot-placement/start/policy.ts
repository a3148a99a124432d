import {
  bookTripSaga,
  type StepRetrySettings,
  type SagaDefinition,
} from '@lab/saga-orchestrator/seams';

/**
 * The saga the orchestrator runs. This one books the car after charging the card.
 */
export function sagaDefinition(retry: StepRetrySettings): SagaDefinition<unknown> {
  const saga = bookTripSaga(retry);
  const byName = (name: string) => {
    const step = saga.steps.find((candidate) => candidate.name === name);
    if (!step) throw new Error(`no step ${name}`);
    return step;
  };
  const order = [
    'reserve-flight',
    'reserve-hotel',
    'charge-payment',
    'reserve-car',
    'confirm-flight',
    'confirm-hotel',
    'confirm-car',
  ];
  return { ...saga, steps: order.map(byName) } as SagaDefinition<unknown>;
}
