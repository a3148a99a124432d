/**
 * `pnpm lab saga verify [--dbs o,f,h,c,p]`: audit the five databases; exit 1 listing each
 * violation. `--monolith`: audit the modular monolith's database (saga_monolith) instead.
 */
import { auditMonolith, auditSaga } from '../audit.ts';
import { adminDatabaseUrl, defaultDatabases, type Databases } from '../services.ts';

export function databasesFromArgs(args: readonly string[]): Databases {
  const flag = args.indexOf('--dbs');
  if (flag < 0) return defaultDatabases();
  const [orchestrator, flights, hotels, cars, payments] = (args[flag + 1] ?? '').split(',');
  if (!orchestrator || !flights || !hotels || !cars || !payments)
    throw new Error('--dbs needs five names: orchestrator,flights,hotels,cars,payments');
  return { orchestrator, flights, hotels, cars, payments };
}

export async function verify(args: readonly string[]): Promise<number> {
  const adminUrl = adminDatabaseUrl();
  const monolith = args.includes('--monolith');
  const databases = monolith ? ['saga_monolith'] : Object.values(databasesFromArgs(args));
  const audited = monolith
    ? auditMonolith(adminUrl, 'saga_monolith')
    : auditSaga(adminUrl, databasesFromArgs(args));
  const violations = await audited.catch((error: unknown) => {
    process.stderr.write(
      `verify: cannot read the saga databases (${(error as Error).message}); start the lab once with \`pnpm lab saga up${monolith ? ' --monolith' : ''}\`.\n`,
    );
    return undefined;
  });
  if (violations === undefined) return 2;
  if (violations.length === 0) {
    process.stdout.write(`verify: no violations in ${databases.join(', ')}\n`);
    return 0;
  }
  for (const violation of violations) process.stdout.write(`VIOLATION ${violation}\n`);
  process.stdout.write(`verify: ${violations.length} violation(s)\n`);
  return 1;
}
