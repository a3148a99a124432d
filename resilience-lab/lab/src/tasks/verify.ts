import { existsSync } from 'node:fs';
import { auditGateway, auditResults } from '../audit.ts';

/** Audits breaker and bulkhead invariants: exit 0 only when no violation is found. */
export async function verify(gatewayUrl: string | undefined, resultsDir: string): Promise<number> {
  const violations: string[] = [];
  let checks = 0;
  const url = gatewayUrl ?? 'http://127.0.0.1:3301';
  try {
    checks += await auditGateway(url, violations);
    process.stdout.write(`gateway ${url}: checked breaker transitions and bulkhead bounds\n`);
  } catch {
    process.stdout.write(`no gateway answers at ${url}; checking experiment results only\n`);
  }
  if (existsSync(resultsDir)) {
    checks += auditResults(resultsDir, violations);
    process.stdout.write(`experiment results in ${resultsDir}: checked\n`);
  }
  for (const violation of violations) process.stdout.write(`VIOLATION ${violation}\n`);
  process.stdout.write(`${checks} checks, ${violations.length} violations\n`);
  return violations.length === 0 ? 0 : 1;
}
