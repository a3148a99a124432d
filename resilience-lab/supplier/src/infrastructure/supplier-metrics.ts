import { counter, gauge } from '@lab/shared/metrics';

export const supplierMetrics = {
  inFlight: gauge('supplier_inflight_calls', 'Calls the supplier is working on, by route', [
    'route',
  ]),
  abortedByClient: counter(
    'supplier_calls_aborted_by_client_total',
    'Calls whose caller closed the connection before the answer (cancellation reached the supplier)',
    ['route'],
  ),
  faults: counter('supplier_injected_faults_total', 'Faults injected by chaos, by kind', [
    'route',
    'fault',
  ]),
};
