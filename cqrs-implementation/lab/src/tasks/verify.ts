import { auditWriteModel, verifyLab } from '../audit.ts';
import { defaultNamespace } from '../services.ts';
import { connect } from '../stores.ts';

/**
 * `pnpm lab cqrs verify`: every aggregate in PostgreSQL against Redis; exit 1 on any drift, 2
 * when there is no write model to audit yet. `--monolith`: the write model `up --monolith`
 * keeps, alone: it has no outbox and no read model to compare.
 */
export async function verify(args: string[] = []): Promise<number> {
  const monolith = args.includes('--monolith');
  const split = defaultNamespace();
  // `up --monolith` uses DATABASE_NAME too when it is set, else its own database.
  const ns = monolith
    ? { ...split, databaseName: process.env.DATABASE_NAME ?? 'cqrs_monolith' }
    : split;
  const stores = connect(ns);
  try {
    const missing = await stores.pool.query('SELECT 1').then(
      () => false,
      (error: unknown) => (error as { code?: string }).code === '3D000',
    );
    if (missing) {
      process.stderr.write(
        `verify: database ${ns.databaseName} does not exist yet; start the lab once (pnpm lab cqrs up${monolith ? ' --monolith' : ''}) and send it some commands\n`,
      );
      return 2;
    }
    const violations = monolith
      ? await auditWriteModel(stores.pool, { outbox: false })
      : await verifyLab(stores.pool, stores.redis, ns.redisKeyPrefix, 5000);
    for (const v of violations)
      process.stdout.write(`VIOLATION ${v.where} ${v.aggregate}: ${v.problem}\n`);
    process.stdout.write(
      violations.length > 0
        ? `verify: ${violations.length} violation(s)\n`
        : monolith
          ? 'verify: the write model holds its invariants\n'
          : 'verify: the write model holds its invariants and the read model matches it\n',
    );
    return violations.length === 0 ? 0 : 1;
  } finally {
    await stores.close();
  }
}
