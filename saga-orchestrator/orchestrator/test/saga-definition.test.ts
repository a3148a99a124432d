import { describe, expect, test } from 'vitest';
import { bookTripSaga } from '../src/domain/book-trip.saga.ts';
import {
  SagaDefinitionError,
  validateSaga,
  type SagaDefinition,
} from '../src/domain/saga-definition.ts';
import { defaultPolicy } from '../src/domain/saga-policy.ts';

const saga = bookTripSaga();
const step = (name: string) => {
  const found = saga.steps.find((candidate) => candidate.name === name);
  if (!found) throw new Error(name);
  return found;
};
const problemsOf = (definition: SagaDefinition<unknown>) => {
  try {
    validateSaga(definition);
    return [];
  } catch (error) {
    return (error as SagaDefinitionError).problems;
  }
};

describe('saga definition validation (run at start-up)', () => {
  test('When the travel booking is validated, then it is accepted', () => {
    expect(problemsOf(saga as SagaDefinition<unknown>)).toEqual([]);
  });

  test('When a compensatable step comes after the pivot, then the definition is rejected', () => {
    const steps = [
      'reserve-flight',
      'reserve-hotel',
      'charge-payment',
      'reserve-car',
      'confirm-car',
    ].map(step);
    expect(problemsOf({ name: 'x', steps } as SagaDefinition<unknown>)).toEqual([
      'compensatable step "reserve-car" comes after the pivot; nothing can undo it once the pivot has committed the saga',
    ]);
  });

  test('When a compensatable step has no compensation, then the definition is rejected', () => {
    const { compensation: _dropped, ...hotel } = step('reserve-hotel');
    const steps = [step('reserve-flight'), hotel, step('charge-payment')];
    expect(problemsOf({ name: 'x', steps } as SagaDefinition<unknown>)).toEqual([
      'compensatable step "reserve-hotel" has no compensation',
    ]);
  });

  test('When there is no pivot or a retriable step precedes it, then the definition is rejected', () => {
    expect(
      problemsOf({ name: 'x', steps: [step('reserve-flight')] } as SagaDefinition<unknown>),
    ).toEqual(['expected exactly one pivot step, found 0']);
    const early = [step('confirm-flight'), step('charge-payment')];
    expect(problemsOf({ name: 'x', steps: early } as SagaDefinition<unknown>)).toEqual([
      'retriable step "confirm-flight" comes before the pivot',
    ]);
  });
});

describe('default failure policy', () => {
  test('When answers are classified, then 4xx is a business rejection and 5xx/408/429/no answer are transient', () => {
    expect(
      [201, 409, 422, 404, 500, 503, 408, 429, undefined].map((status) =>
        defaultPolicy.classify({ status }),
      ),
    ).toEqual([
      'ok',
      'rejected',
      'rejected',
      'rejected',
      'transient',
      'transient',
      'transient',
      'transient',
      'transient',
    ]);
  });

  test('When backoff is computed, then the ceiling doubles up to the cap and jitter stays below it', () => {
    const retry = {
      maxAttempts: 9,
      baseDelayMs: 50,
      maxDelayMs: 400,
      timeoutMs: 100,
      deadlineMs: 1000,
    };
    expect([1, 2, 3, 4, 5].map((n) => defaultPolicy.backoffMs(n, retry, () => 0.999999))).toEqual([
      50, 100, 200, 400, 400,
    ]);
    expect(defaultPolicy.backoffMs(3, retry, () => 0.5)).toBe(100);
    expect(defaultPolicy.idempotencyKey('s', 'reserve-car', 1)).toBe(
      defaultPolicy.idempotencyKey('s', 'reserve-car', 7),
    );
  });
});
