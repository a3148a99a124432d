import {
  bookTripSaga,
  type StepRetrySettings,
  type SagaDefinition,
} from '@lab/saga-orchestrator/seams';

/**
 * Every step that can fail for a business reason goes before the pivot: once the card is
 * charged the saga can only move forward, so a sold-out car after it would strand a paid trip.
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
    'reserve-car',
    'charge-payment',
    'confirm-flight',
    'confirm-hotel',
    'confirm-car',
  ];
  return { ...saga, steps: order.map(byName) } as SagaDefinition<unknown>;
}
