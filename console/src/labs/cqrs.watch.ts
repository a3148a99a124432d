import { randomUUID } from 'node:crypto';
import { AppError } from '@lab/shared/http';
import type { ConsoleConfig } from '../config.ts';
import {
  callWithin,
  expectOk,
  LabAnswerLost,
  LabUnreachable,
  newTrace,
  poll,
  prune,
  type Answer,
} from './http.ts';

/** One read of a just-placed order: its status and time, or why the read side gave no answer. */
type ReadOutcome = { status: number; ms: number } | { status: null; ms: null; error: string };

interface RelayStatus {
  outbox: { backlog: number; oldestUnpublishedAgeMs: number | null };
  publishedSinceStart: number;
  topic: { name: string; partitions: { partition: number; end: number }[] | null };
}

interface ProjectorStatus {
  partitions: { partition: number; committed: number; end: number; lagEvents: number }[] | null;
  deadLetters: number | null;
  checkpoint: string;
}

interface Sample {
  at: number;
  backlog: number | null;
  oldestAgeMs: number | null;
  lagEvents: number | null;
  lagMs: number | null;
}

const KEEP_MS = 10 * 60_000;

/** When the console first saw a partition's end at or past each value, oldest first. */
export type EndHistory = { at: number; end: number }[];

/**
 * Records a partition's end as polled at `now`, keeping the entry in force at the window's
 * start: it dates the oldest lag still counted. An end lower than the last one seen means the
 * topic was deleted and created again (`pnpm lab cqrs reset`, then `up`): its
 * offsets start over, and the old history would date the new lag from the old topic's events.
 */
export function recordEnd(history: EndHistory, end: number, now: number, keepMs = KEEP_MS) {
  const last = history.at(-1);
  if (last && end < last.end) history.length = 0;
  if (history.at(-1)?.end !== end) history.push({ at: now, end });
  while (history.length > 1 && (history[1]?.at ?? now) < now - keepMs) history.shift();
}

/**
 * How long the oldest event past `committed` has been on the partition: the first time the end
 * passed the committed offset is when that event was published.
 */
export function lagMsOf(history: EndHistory, committed: number, now: number): number {
  const first = history.find((h) => h.end > committed);
  return first ? now - first.at : 0;
}
// The most the query service lets a read wait for its token (X-Consistency-Timeout-Ms).
const READ_PATIENCE_MS = 10_000;

/**
 * Watches the CQRS pipeline: the relay's outbox backlog and the event topic's ends, the
 * projector's committed offsets, checkpoint and dead letters. Lag is the topic's ends minus the
 * projector's committed offsets; the relay reports the ends, so lag keeps growing on the page
 * while the projector is down and cannot report anything. Lag in milliseconds is how long the
 * oldest event the projector has not committed has been on the topic: the console remembers
 * when each partition's end passed each offset (a consumer-lag estimate from offset history,
 * as Burrow and kafka-ui make it).
 */
export function cqrsWatch(config: ConsoleConfig) {
  const call = callWithin(config.CONSOLE_ACTION_TIMEOUT_MS);
  const relay = config.CONSOLE_CQRS_RELAY_URL;
  const projector = config.CONSOLE_CQRS_PROJECTOR_URL;
  const command = config.CONSOLE_CQRS_COMMAND_URL;
  const query = config.CONSOLE_CQRS_QUERY_URL;
  const samples: Sample[] = [];
  /** Per partition: when the console first saw its end at or past each value. */
  const endsSeen = new Map<number, EndHistory>();
  let topicSeen: string | undefined;
  const committed = new Map<number, number>();
  let productId: string | undefined;
  let latest: Record<string, unknown> = { up: false };
  /**
   * `pnpm lab cqrs up --monolith` answers on the command service's address, queries included,
   * and has no relay, Kafka, projector or Redis: its reads are joins over the rows the command
   * committed. Known from its /healthz, asked on every poll and before every action, since
   * Ctrl-C and the other wiring's `up` put a different process on that address within seconds.
   */
  let monolith = false;
  const probeWiring = async () => {
    const health = await poll<{ service?: string }>(`${command}/healthz`);
    monolith = health?.service === 'cqrs-monolith';
    return health;
  };

  const refresh = async () => {
    const now = Date.now();
    // The wiring first, as the saga tab does: the monolith has no relay, projector or query
    // service to ask, and whatever answers on their addresses meanwhile is not its.
    const commandUp = await probeWiring();
    if (monolith) {
      latest = { up: true, wiring: 'monolith', commandUrl: command };
      return;
    }
    const [relayStatus, projectorStatus, queryUp] = await Promise.all([
      poll<RelayStatus>(`${relay}/status`),
      poll<ProjectorStatus>(`${projector}/status`),
      poll(`${query}/healthz`),
    ]);
    // Another topic's offsets say nothing about this one's (KAFKA_TOPIC_PREFIX changed between runs).
    if (relayStatus && relayStatus.topic.name !== topicSeen) {
      endsSeen.clear();
      topicSeen = relayStatus.topic.name;
    }
    for (const p of relayStatus?.topic.partitions ?? []) {
      const history = endsSeen.get(p.partition) ?? [];
      recordEnd(history, p.end, now);
      endsSeen.set(p.partition, history);
    }
    for (const p of projectorStatus?.partitions ?? []) committed.set(p.partition, p.committed);
    const ends =
      relayStatus?.topic.partitions ??
      projectorStatus?.partitions?.map(({ partition, end }) => ({ partition, end })) ??
      null;
    const partitions =
      ends && committed.size > 0
        ? ends.map(({ partition, end }) => {
            const at = Math.max(0, committed.get(partition) ?? 0);
            const lagEvents = Math.max(0, end - at);
            return {
              partition,
              end,
              committed: at,
              lagEvents,
              lagMs: lagEvents === 0 ? 0 : lagMsOf(endsSeen.get(partition) ?? [], at, now),
            };
          })
        : null;
    const sample: Sample = {
      at: now,
      backlog: relayStatus?.outbox.backlog ?? null,
      oldestAgeMs: relayStatus?.outbox.oldestUnpublishedAgeMs ?? null,
      lagEvents: partitions?.reduce((sum, p) => sum + p.lagEvents, 0) ?? null,
      lagMs: partitions ? Math.max(0, ...partitions.map((p) => p.lagMs)) : null,
    };
    samples.push(sample);
    prune(samples, KEEP_MS, now);
    latest = {
      // Any of the four: the page draws the stages that answer and marks the others down.
      up: [relayStatus, projectorStatus, commandUp, queryUp].some((answer) => answer !== undefined),
      services: {
        command: commandUp !== undefined,
        relay: relayStatus !== undefined,
        projector: projectorStatus !== undefined,
        query: queryUp !== undefined,
      },
      wiring: 'split',
      ...sample,
      publishedSinceStart: relayStatus?.publishedSinceStart ?? null,
      topic: relayStatus?.topic.name ?? null,
      partitions,
      checkpoint: projectorStatus?.checkpoint ?? null,
      deadLetters: projectorStatus?.deadLetters ?? null,
      history: samples.map(({ at, backlog, lagEvents, lagMs }) => ({
        at,
        backlog,
        lagEvents,
        lagMs,
      })),
    };
  };

  const ensureProduct = async () => {
    if (productId) return productId;
    const created = await expectOk(
      'create a product',
      call<{ id: string }>('POST', `${command}/products`, {
        body: {
          sku: `console-${randomUUID().slice(0, 8)}`,
          name: 'Console demo product',
          priceCents: 1250,
          stock: 1_000_000,
        },
      }),
    );
    productId = created.id;
    return productId;
  };

  /**
   * Places an order, then reads it twice from the query service: at once without the
   * consistency token (the read side may not have the order yet), then with it (the query
   * service waits until its read model has caught up with the write).
   */
  const placeThenRead = async () => {
    await probeWiring();
    const trace = newTrace();
    const headers = { traceparent: trace.traceparent };
    let product = await ensureProduct();
    interface Placed {
      id: string;
      version: number;
      consistencyToken: string;
    }
    const place = () =>
      call<Placed>('POST', `${command}/orders`, {
        headers,
        body: { customerId: 'console', lines: [{ productId: product, quantity: 1 }] },
      });
    let placing = await place();
    if (placing.status === 404 || placing.status === 422) {
      // The lab was restarted on a fresh database: the cached product is gone.
      productId = undefined;
      product = await ensureProduct();
      placing = await place();
    }
    const placed = await expectOk('place an order', Promise.resolve(placing));
    // From here on the order is committed: a read that fails is part of the answer (the read
    // side is away, or slow), never a failure of the whole action, which a client would retry
    // and so place a second order.
    const read = async (token?: string): Promise<ReadOutcome> => {
      try {
        const answer = await readOrder(token);
        return { status: answer.status, ms: Math.round(answer.ms) };
      } catch (error) {
        if (!(error instanceof LabUnreachable || error instanceof LabAnswerLost)) throw error;
        return { status: null, ms: null, error: error.message };
      }
    };
    const readOrder = (token?: string): Promise<Answer> =>
      call('GET', `${monolith ? command : query}/orders/${placed.id}`, {
        headers: {
          ...headers,
          ...(token && {
            'x-consistency-token': token,
            'x-consistency-timeout-ms': String(READ_PATIENCE_MS),
          }),
        },
        timeoutMs: READ_PATIENCE_MS + 1000,
      });
    const withoutToken = await read();
    const withToken = await read(placed.consistencyToken);
    return {
      orderId: placed.id,
      traceId: trace.traceId,
      placedMs: Math.round(placing.ms),
      withoutToken,
      withToken,
    };
  };

  /** Dead letters are the projector's; the monolith has no projector and no events to park. */
  const splitOnly = async (what: string) => {
    await probeWiring();
    if (monolith)
      throw new AppError(
        'not-in-this-wiring',
        409,
        `The CQRS monolith cannot ${what}: it has no projector and no event topic; its reads are joins over the rows its commands committed.`,
      );
  };

  /** On demand only: listing reads the whole dead-letter topic with a throwaway consumer group. */
  const deadLetters = async () => {
    await splitOnly('list dead letters');
    return expectOk(
      'list the dead letters',
      // Past the projector's own 30 s bound on the listing, so its 503 (Kafka away) arrives
      // here as the lab's answer rather than as this console giving up first.
      call('GET', `${projector}/dead-letters?limit=20`, { timeoutMs: 35_000 }),
    );
  };
  const replayDeadLetters = async () => {
    await splitOnly('replay dead letters');
    return expectOk(
      'replay the dead letters',
      call('POST', `${projector}/dead-letters/replays`, { body: {}, timeoutMs: 60_000 }),
    );
  };

  return { refresh, snapshot: () => latest, placeThenRead, deadLetters, replayDeadLetters };
}
