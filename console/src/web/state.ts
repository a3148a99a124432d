/** What the console pushes to the page on every refresh (see src/labs/*.watch.ts). */
export interface Transition {
  at: number;
  from: string;
  to: string;
  reason: string;
}

export interface BreakerView {
  name: string;
  state: 'closed' | 'open' | 'half-open' | 'disabled';
  inStateMs: number | null;
  decision: string;
  counts?: {
    fires: number;
    successes: number;
    failures: number;
    timeouts: number;
    rejects: number;
  };
  thresholds: {
    errorThresholdPercentage: number;
    volumeThreshold: number;
    rollingCountTimeout: number;
    resetTimeout: number;
  } | null;
  bulkhead: { active: number; queued: number } | null;
  inFlight: number | null;
  transitions: Transition[];
}

export interface ResilienceState {
  up: boolean;
  gatewayUrl?: string;
  supplierUp?: boolean | null;
  /** `up --monolith`: the supplier is called in-process, and only error and hang apply. */
  inProcess?: boolean;
  traffic?: { on: boolean; perSecond?: number };
  retryBudgetTokens?: number | null;
  breakers?: BreakerView[];
  faults?: Record<string, { faults?: Record<string, number> } | null> | null;
  latency?: {
    at: number;
    quotes: number | null;
    availability: number | null;
    quotesStatus: number | null;
    availabilityStatus: number | null;
  }[];
}

export interface StepView {
  name: string;
  kind: 'action' | 'compensation';
  state: string;
  attempts: number;
  startedAt: string;
  endedAt: string | null;
  lastError: string | null;
}

export interface TripView {
  tripId: string;
  status: string;
  failureReason: string | null;
  createdAt: string;
  traceId: string | null;
  timeline: StepView[];
}

export interface SagaState {
  up: boolean;
  /** `monolith`: `pnpm lab saga up --monolith` answers, whose trips have no steps to draw. */
  wiring?: 'saga' | 'monolith';
  definition?: {
    name: string;
    steps: { name: string; kind: string; compensation: string | null }[];
  } | null;
  trips?: TripView[];
  faults?: Record<string, Record<string, { faults?: Record<string, number> } | null> | null>;
}

export interface CqrsState {
  up: boolean;
  /** `monolith`: `pnpm lab cqrs up --monolith` answers, with no pipeline to draw. */
  wiring?: 'split' | 'monolith';
  commandUrl?: string;
  services?: { command: boolean; relay: boolean; projector: boolean; query: boolean };
  backlog?: number | null;
  oldestAgeMs?: number | null;
  lagEvents?: number | null;
  lagMs?: number | null;
  publishedSinceStart?: number | null;
  topic?: string | null;
  partitions?:
    | { partition: number; end: number; committed: number; lagEvents: number; lagMs: number }[]
    | null;
  checkpoint?: string | null;
  deadLetters?: number | null;
  history?: {
    at: number;
    backlog: number | null;
    lagEvents: number | null;
    lagMs: number | null;
  }[];
}

export interface ConsoleState {
  at: number;
  traceUrl: string;
  resilience: ResilienceState;
  saga: SagaState;
  cqrs: CqrsState;
}
