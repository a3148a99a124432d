import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isDependencyUnavailable } from '../src/http/errors.ts';

// The errors as kafkajs itself makes them: its table of the broker's error codes, and the
// createTopics response parser that turns each topic's error code into a KafkaJSCreateTopicError
// inside a KafkaJSAggregateError. kafkajs is CommonJS; its errors are on the default export.
const require = createRequire(import.meta.url);
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as {
  createErrorFromCode: (code: number) => Error;
};
const createTopicsResponse = require('kafkajs/src/protocol/requests/createTopics/v0/response') as {
  parse: (data: { topicErrors: { topic: string; errorCode: number }[] }) => Promise<unknown>;
};
// kafkajs' types leave out the arguments these classes take at run time.
type ErrorClass = new (e: Error | string, options?: { cause?: Error }) => Error;
const { KafkaJSError, KafkaJSLockTimeout, KafkaJSNonRetriableError, KafkaJSTimeout } =
  kafkajs as unknown as Record<
    'KafkaJSError' | 'KafkaJSLockTimeout' | 'KafkaJSNonRetriableError' | 'KafkaJSTimeout',
    ErrorClass
  >;

/** What createTopics fails with when the broker answers these error codes for these topics. */
const createTopicsFailure = (errorCodes: Record<string, number>) =>
  createTopicsResponse
    .parse({
      topicErrors: Object.entries(errorCodes).map(([topic, errorCode]) => ({ topic, errorCode })),
    })
    .then(
      () => {
        throw new Error('createTopics parsed the errors as a success');
      },
      (error: unknown) => error,
    );

// Broker error codes, from kafkajs/src/protocol/error.js.
const LEADER_NOT_AVAILABLE = 5;
const REQUEST_TIMED_OUT = 7;
const INVALID_REPLICATION_FACTOR = 38;
const INVALID_CONFIG = 40;
const NOT_CONTROLLER = 41;
const KAFKA_STORAGE_ERROR = 56;

describe('isDependencyUnavailable: kafkajs errors', () => {
  it('When kafkajs gives up waiting on the broker (topic leaders, a broker lock), then it is unavailable, also wrapped by a retrier', () => {
    const leaders = new KafkaJSTimeout('Timed out while waiting for topic leaders');
    const lock = new KafkaJSLockTimeout('Timeout while acquiring lock (1 waiting locks)');
    expect(isDependencyUnavailable(leaders)).toBe(true);
    expect(isDependencyUnavailable(lock)).toBe(true);
    // kafkajs' retrier wraps an error it will not retry, with the original as its cause.
    expect(isDependencyUnavailable(new KafkaJSNonRetriableError(leaders, { cause: leaders }))).toBe(
      true,
    );
  });

  it('When the broker answers a code it marks retriable, then it is unavailable, whichever protocol error class carries it', async () => {
    for (const code of [
      LEADER_NOT_AVAILABLE,
      REQUEST_TIMED_OUT,
      NOT_CONTROLLER,
      KAFKA_STORAGE_ERROR,
    ])
      expect(isDependencyUnavailable(createErrorFromCode(code)), `code ${code}`).toBe(true);
    // createTopics: every topic refused with a retriable code, as a broker that is starting does.
    const failure = await createTopicsFailure({
      events: LEADER_NOT_AVAILABLE,
      'events.dlq': REQUEST_TIMED_OUT,
    });
    expect(failure).toMatchObject({ name: 'KafkaJSAggregateError' });
    expect(isDependencyUnavailable(failure)).toBe(true);
  });

  it('When the broker rejects the request for good (a bad topic config), then it is not unavailable, alone or beside a retriable one', async () => {
    expect(isDependencyUnavailable(createErrorFromCode(INVALID_CONFIG))).toBe(false);
    expect(isDependencyUnavailable(await createTopicsFailure({ events: INVALID_CONFIG }))).toBe(
      false,
    );
    expect(
      isDependencyUnavailable(
        await createTopicsFailure({
          events: INVALID_REPLICATION_FACTOR,
          'events.dlq': LEADER_NOT_AVAILABLE,
        }),
      ),
    ).toBe(false);
    // A client mistake kafkajs finds before asking the broker.
    expect(
      isDependencyUnavailable(
        new KafkaJSNonRetriableError('Invalid configEntries for topic "events"'),
      ),
    ).toBe(false);
  });

  it('When a kafkajs error carries no broker error code, then being retriable alone does not make it an outage', () => {
    // KafkaJSError is retriable unless told otherwise; only a broker's answer has a `type`.
    expect(isDependencyUnavailable(new KafkaJSError('something went wrong'))).toBe(false);
  });
});
