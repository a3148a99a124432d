export async function bench(): Promise<number> {
  const { runBench } = await import('../../bench/run.ts');
  return runBench();
}
