import { counter, gauge } from '@lab/shared/metrics';

const dep = ['dependency'] as const;

/** What an operator watches to see a breaker protect the gateway, or the gateway drown. */
export const gatewayMetrics = {
  breakerState: gauge('gateway_breaker_state', 'Breaker state: 0 closed, 1 half-open, 2 open', dep),
  breakerTransitions: counter('gateway_breaker_transitions_total', 'Breaker state changes', [
    'dependency',
    'to',
  ]),
  breakerOpens: counter('gateway_breaker_opens_total', 'Times a breaker opened', dep),
  rejections: counter('gateway_rejections_total', 'Calls refused without reaching the supplier', [
    'dependency',
    'reason',
  ]),
  fallbacks: counter('gateway_fallbacks_total', 'Answers served from the last good price', [
    'dependency',
    'result',
  ]),
  retries: counter('gateway_retries_total', 'Retry decisions', ['dependency', 'decision']),
  attempts: counter('gateway_supplier_attempts_total', 'Calls sent to the supplier', [
    'dependency',
    'outcome',
  ]),
  inFlight: gauge(
    'gateway_supplier_inflight',
    'Supplier calls in flight (queued in pool or sent)',
    dep,
  ),
};
