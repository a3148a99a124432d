import { captureTraceContext } from '@lab/shared/kafka';
import type { PoolClient } from '@lab/shared/pg';
import type { DomainEvent } from '../domain/events.ts';

export interface Outbox {
  /** Writes events inside the caller's transaction: they commit or vanish with the domain rows. */
  append: (client: PoolClient, events: readonly DomainEvent[]) => Promise<void>;
}

export const transactionalOutbox: Outbox = {
  append: async (client, events) => {
    if (events.length === 0) return;
    // The trace context travels in the row, so the relay (another process, later) can
    // continue this request's trace when it publishes.
    const traceContext = JSON.stringify(captureTraceContext());
    await client.query({
      // Named, so each connection parses and plans the outbox insert once, not per command.
      name: 'outbox-append',
      text: `INSERT INTO outbox (aggregate_type, aggregate_id, aggregate_version, type, payload, trace_context)
       SELECT e.aggregate_type, e.aggregate_id, e.aggregate_version, e.type, e.payload, $2::jsonb
         FROM jsonb_to_recordset($1::jsonb)
           AS e(aggregate_type text, aggregate_id uuid, aggregate_version int, type text, payload jsonb)`,
      values: [
        JSON.stringify(
          events.map((e) => ({
            aggregate_type: e.aggregateType,
            aggregate_id: e.aggregateId,
            aggregate_version: e.aggregateVersion,
            type: e.type,
            payload: e.payload,
          })),
        ),
        traceContext,
      ],
    });
  },
};

/**
 * No outbox write: the benchmark's baseline for the outbox's cost, and the modular monolith's
 * outbox, since nothing downstream of it reads events.
 */
export const noOutbox: Outbox = { append: () => Promise.resolve() };
