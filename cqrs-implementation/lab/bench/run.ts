export function runBench(): Promise<number> {
  return Promise.resolve(1);
}
