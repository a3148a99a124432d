export async function bench(): Promise<number> {
  const { runBench } = await import('../../bench/bench.ts');
  const code = await runBench();
  // The tax receipt: the split wiring against the modular monolith, appended to REPORT.md.
  const { appendTaxReceipt } = await import('../../bench/receipt.ts');
  return Math.max(code, await appendTaxReceipt());
}
