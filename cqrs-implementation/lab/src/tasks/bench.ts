export async function bench(): Promise<number> {
  const { runBench } = await import('../../bench/bench.ts');
  return runBench();
}
