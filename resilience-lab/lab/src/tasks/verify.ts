import { existsSync } from 'node:fs';
import { auditGateway, auditResults } from '../audit.ts';

/**
 * Audits breaker and bulkhead invariants on the live gateway, if one answers, and in the last
 * experiments' results, if there are any: exit 0 only when something was checked and no
 * violation found, 1 listing each violation, 2 when there was nothing to check.
 */
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
  if (checks === 0) {
    // Nothing audited is not the same as nothing wrong.
    process.stderr.write(
      'verify: nothing to check; start the lab (`pnpm lab resilience up`) or run an experiment first.\n',
    );
    return 2;
  }
  for (const violation of violations) process.stdout.write(`VIOLATION ${violation}\n`);
  process.stdout.write(`${checks} checks, ${violations.length} violations\n`);
  return violations.length === 0 ? 0 : 1;
}
