import type { DomainEvent } from './events.ts';

/**
 * The consistency token a command returns: the aggregates it changed and the versions they
 * reached. A query that carries it waits until the read model shows at least those versions
 * (read-your-writes), without the client knowing anything about Kafka offsets or positions.
 * Opaque to clients: base64url of a small JSON document.
 */
export function consistencyTokenFor(events: readonly DomainEvent[]): string {
  const latest = new Map<string, [string, string, number]>();
  for (const event of events) {
    const key = `${event.aggregateType}:${event.aggregateId}`;
    const seen = latest.get(key);
    if (!seen || seen[2] < event.aggregateVersion)
      latest.set(key, [event.aggregateType, event.aggregateId, event.aggregateVersion]);
  }
  return Buffer.from(JSON.stringify({ v: 1, a: [...latest.values()] })).toString('base64url');
}
