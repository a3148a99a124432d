/**
 * `pnpm lab resilience bench`: the benchmark itself lives in lab/bench/, beside the
 * results.json and REPORT.md it writes.
 */
export { bench } from '../../bench/bench.ts';
