import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer } from 'kafkajs';
import { createKafka } from '@lab/shared/kafka';
import { createLogger } from '@lab/shared/logging';
import { eventTopic } from '../src/topic.ts';
import { isolatedNamespace, startStack, stopAllStacks, type Stack } from '../src/services.ts';
import { startPrivateBroker } from './private-broker.ts';
import { waitFor } from './wait.ts';

let broker: Awaited<ReturnType<typeof startPrivateBroker>>;
let stack: Stack;

// The projector's deadline for reading the dead-letter topic (30 s unless told), short here so
// that reaching it stays quick; kafkajs alone retries a refused connection for ~30 s.
const READ_TIMEOUT_MS = 3000;
// Deadline plus what a loaded machine adds: far less than those ~30 s.
const ANSWER_WITHIN_MS = 15_000;
// kafkajs picks shorter retries (~4 s in all) when NODE_ENV is `test`, as under vitest, which
// every service started here inherits; this projector retries as it would in production.
const PRODUCTION_RETRIES = { NODE_ENV: 'production' };

beforeAll(async () => {
  broker = await startPrivateBroker();
  const ns = isolatedNamespace('dlqoutage', { kafkaBrokers: broker.brokers });
  stack = await startStack({
    ns,
    only: ['projector'],
    env: {
      projector: {
        PROJECTOR_DEAD_LETTERS_TIMEOUT_MS: String(READ_TIMEOUT_MS),
        ...PRODUCTION_RETRIES,
      },
    },
  });
}, 300_000);
afterAll(async () => {
  await stopAllStacks();
  // Unset when the set-up failed before making it (the broker cleans up its own failed start).
  await (broker as typeof broker | undefined)?.destroy();
});

async function timed(method: string, path: string) {
  const started = Date.now();
  const res = await fetch(`${stack.url('projector')}${path}`, {
    method,
    ...(method === 'POST' && { headers: { 'content-type': 'application/json' }, body: '{}' }),
  });
  const body = (await res.json()) as { code?: string };
  return {
    status: res.status,
    code: body.code,
    contentType: res.headers.get('content-type'),
    retryAfter: res.headers.get('retry-after'),
    tookMs: Date.now() - started,
  };
}

/**
 * The answer a broker that cannot be read must give: 503 problem+json with Retry-After, at the
 * route's deadline rather than after kafkajs' own retries, from a projector still running.
 */
function expectUnavailableInTime(seen: Awaited<ReturnType<typeof timed>>) {
  expect(seen).toMatchObject({ status: 503, code: 'dependency-unavailable' });
  expect(seen.contentType).toContain('application/problem+json');
  expect(seen.retryAfter).not.toBeNull();
  expect(seen.tookMs).toBeLessThan(ANSWER_WITHIN_MS);
  expect(stack.services.projector?.alive()).toBe(true);
}

describe('dead letters while the broker cannot be read', () => {
  it(
    'When the dead-letter topic cannot be read to its end, then POST /dead-letters/replays answers 503 dependency-unavailable at its deadline',
    { timeout: 120_000 },
    async () => {
      // Silent: the stuck member's heartbeats are refused while the group waits for it.
      const kafka = createKafka('dlq-outage-test', [broker.brokers], createLogger('t', 'silent'));
      const dlq = `${eventTopic(stack.ns)}.dlq`;
      const producer = kafka.producer();
      await producer.connect();
      // Another member of the replayer's group holds every partition and never gets past its
      // first letter (nor rejoins while stuck in it), so the projector's replay cannot fetch.
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let holding = false;
      let blocker: Consumer | undefined;
      try {
        await producer.send({
          topic: dlq,
          messages: [0, 1, 2].map((partition) => ({ partition, value: '{}' })),
        });
        blocker = kafka.consumer({
          groupId: `${stack.ns.topicPrefix}cqrs-dlq-replay`,
          sessionTimeout: 90_000,
          rebalanceTimeout: 120_000,
        });
        await blocker.connect();
        await blocker.subscribe({ topic: dlq, fromBeginning: true });
        await blocker.run({
          autoCommit: false,
          eachMessage: async () => {
            holding = true;
            await held;
          },
        });
        await waitFor('the other member to hold a letter', () => holding);

        expectUnavailableInTime(await timed('POST', '/dead-letters/replays'));
      } finally {
        release();
        await blocker?.disconnect();
        await producer.disconnect();
      }
    },
  );

  it(
    'When the broker is stopped, then GET /dead-letters answers 503 dependency-unavailable with Retry-After within its deadline, and answers again once the broker is back',
    { timeout: 240_000 },
    async () => {
      await broker.stop('SIGKILL');
      try {
        expectUnavailableInTime(await timed('GET', '/dead-letters'));
      } finally {
        await broker.restart();
      }
      await waitFor(
        'GET /dead-letters to answer 200 again',
        async () => (await timed('GET', '/dead-letters')).status === 200,
        { timeoutMs: 120_000 },
      );
    },
  );
});
