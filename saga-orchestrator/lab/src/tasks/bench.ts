/** `pnpm lab saga bench`: the benchmark in bench/; writes bench/results.json and bench/REPORT.md. */
export async function bench(): Promise<number> {
  await (await import('../../bench/bench.ts')).bench();
  return 0;
}
