/**
 * `pnpm lab saga reset [--dbs o,f,h,c,p] [--monolith-db name]`: drops what `up` and
 * `up --monolith` keep between runs, so the next `up` starts from empty databases: the five
 * services' databases, the monolith's, and the monolith's module roles (named after its
 * database; roles belong to the server, so dropping the database leaves them). Refused while
 * anything is connected to one of those databases: a lab still running would lose its work.
 */
import { databasesInUse } from '@lab/shared/pg';
import { release } from '@lab/shared/testkit';
import { adminDatabaseUrl } from '../services.ts';
import { databasesFromArgs } from './verify.ts';

export async function reset(args: readonly string[]): Promise<number> {
  const adminUrl = adminDatabaseUrl();
  const flag = args.indexOf('--monolith-db');
  const monolith = flag >= 0 ? args[flag + 1] : 'saga_monolith';
  if (!monolith) throw new Error('--monolith-db needs a database name');
  const databases = [...Object.values(databasesFromArgs(args)), monolith];
  const inUse = await databasesInUse(adminUrl, databases);
  if (inUse.length > 0) {
    process.stderr.write(
      `reset: ${inUse.join(', ')} in use; stop \`pnpm lab saga up\` (Ctrl-C) and anything else connected first.\n`,
    );
    return 2;
  }
  const problems = await release({
    postgres: { url: adminUrl, databases, rolePrefixes: [`${monolith}_`] },
  });
  for (const problem of problems) process.stderr.write(`reset: ${problem}\n`);
  if (problems.length > 0) return 1;
  // What is true now, whether or not each one existed before.
  process.stdout.write(
    `reset: none of ${databases.join(', ')} is left, nor any role ${monolith}_*\n`,
  );
  return 0;
}
