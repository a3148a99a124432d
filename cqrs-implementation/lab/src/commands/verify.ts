import { verifyLab } from '../audit/verify.ts';
import { defaultNamespace } from '../stack.ts';
import { connect } from './stores.ts';

/** `pnpm lab cqrs verify`: every aggregate in PostgreSQL against Redis; exit 1 on any drift. */
export async function verify(): Promise<number> {
  const ns = defaultNamespace();
  const stores = connect(ns);
  try {
    const violations = await verifyLab(stores.pool, stores.redis, ns.redisKeyPrefix, 5000);
    for (const v of violations)
      process.stdout.write(`VIOLATION ${v.where} ${v.aggregate}: ${v.problem}\n`);
    process.stdout.write(
      violations.length === 0
        ? 'verify: the write model holds its invariants and the read model matches it\n'
        : `verify: ${violations.length} violation(s)\n`,
    );
    return violations.length === 0 ? 0 : 1;
  } finally {
    await stores.close();
  }
}
