import type { FaultKind, SupplierRoute } from './chaos.ts';

export type CallOutcome = 'ok' | 'not-found' | FaultKind | 'aborted-by-client' | 'hang-expired';

export interface CallRecord {
  id: number;
  route: SupplierRoute;
  sku: string;
  /** The gateway forwards its caller's x-request-id and its own attempt number. */
  requestId: string | undefined;
  attempt: number | undefined;
  fault: FaultKind;
  latencyMs: number;
  startedAt: number;
  endedAt: number | undefined;
  outcome: CallOutcome | undefined;
}

interface RouteCounters {
  started: number;
  inFlight: number;
  completed: number;
  /** The caller closed the connection before the answer: proof that cancellation reached us. */
  abortedByClient: number;
  faults: Record<FaultKind, number>;
}

const emptyCounters = (): RouteCounters => ({
  started: 0,
  inFlight: 0,
  completed: 0,
  abortedByClient: 0,
  faults: { none: 0, error: 0, hang: 0, reset: 0, down: 0 },
});

/**
 * Every call the supplier served, with when it started, when it ended and how. Work still
 * running after the caller gave up is zombie work: it holds a connection and a worker and
 * helps no one. The ledger is what lets experiments measure it and tests prove it is gone.
 */
export class CallLedger {
  private readonly size: number;
  private readonly records: CallRecord[] = [];
  private nextId = 1;
  readonly counters: Record<SupplierRoute, RouteCounters> = {
    prices: emptyCounters(),
    stock: emptyCounters(),
  };

  constructor(size: number) {
    this.size = size;
  }

  begin(record: Omit<CallRecord, 'id' | 'endedAt' | 'outcome'>): CallRecord {
    const call: CallRecord = {
      ...record,
      id: this.nextId++,
      endedAt: undefined,
      outcome: undefined,
    };
    this.records.push(call);
    if (this.records.length > this.size) this.records.shift();
    const counters = this.counters[call.route];
    counters.started += 1;
    counters.inFlight += 1;
    counters.faults[call.fault] += 1;
    return call;
  }

  end(call: CallRecord, outcome: CallOutcome): void {
    if (call.endedAt !== undefined) return;
    call.endedAt = Date.now();
    call.outcome = outcome;
    const counters = this.counters[call.route];
    counters.inFlight -= 1;
    if (outcome === 'aborted-by-client') counters.abortedByClient += 1;
    else counters.completed += 1;
  }

  since(afterId: number, route?: SupplierRoute): CallRecord[] {
    return this.records.filter((r) => r.id > afterId && (!route || r.route === route));
  }
}
