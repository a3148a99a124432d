/**
 * `pnpm lab saga <command>`:
 *   up                 the five services at their DESIGN ports, logs prefixed by service
 *   demo               a narrated run: a trip booked, one compensated, a crash recovered
 *   verify [--dbs o,f,h,c,p]  audit the five databases; exit 1 listing each violation
 *   exercise <n>       run exercise n's check (fails until the exercise is done)
 *   bench              the benchmark; writes bench/results.json and bench/REPORT.md
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { auditSaga } from './audit.ts';
import { defaultDatabases, startSagaLab, type Databases } from './saga-lab.ts';

const [command, ...args] = process.argv.slice(2);
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const labDir = join(import.meta.dirname, '..');

function databasesFromArgs(): Databases {
  const flag = args.indexOf('--dbs');
  if (flag < 0) return defaultDatabases();
  const [orchestrator, flights, hotels, cars, payments] = (args[flag + 1] ?? '').split(',');
  if (!orchestrator || !flights || !hotels || !cars || !payments)
    throw new Error('--dbs needs five names: orchestrator,flights,hotels,cars,payments');
  return { orchestrator, flights, hotels, cars, payments };
}

async function up() {
  const lab = await startSagaLab({
    databases: defaultDatabases(),
    ports: 'design',
    echo: true,
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
  });
  process.stdout.write(
    `\nSaga lab up: orchestrator ${lab.urls.orchestrator}, flights ${lab.urls.flights}, hotels ${lab.urls.hotels}, cars ${lab.urls.cars}, payments ${lab.urls.payments}\nCtrl-C stops it.\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await lab.stop();
}

async function verify() {
  const databases = databasesFromArgs();
  const violations = await auditSaga(adminUrl, databases).catch((error: unknown) => {
    process.stderr.write(
      `verify: cannot read the saga databases (${(error as Error).message}); start the lab once with \`pnpm lab saga up\`.\n`,
    );
    return undefined;
  });
  if (violations === undefined) return 2;
  if (violations.length === 0) {
    process.stdout.write(`verify: no violations in ${Object.values(databases).join(', ')}\n`);
    return 0;
  }
  for (const violation of violations) process.stdout.write(`VIOLATION ${violation}\n`);
  process.stdout.write(`verify: ${violations.length} violation(s)\n`);
  return 1;
}

function exercise() {
  const n = (args[0] ?? '').padStart(2, '0');
  const dir = readdirSync(join(labDir, 'exercises')).find((name) => name.startsWith(`${n}-`));
  if (!dir) {
    process.stderr.write(`No exercise ${args[0] ?? ''}. Try: pnpm lab saga exercise 1\n`);
    return 2;
  }
  const result = spawnSync(
    process.execPath,
    [
      join(labDir, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--config',
      join(labDir, 'vitest.exercises.config.ts'),
      `exercises/${dir}/`,
    ],
    { stdio: 'inherit', cwd: labDir },
  );
  return result.status ?? 1;
}

async function main(): Promise<number> {
  switch (command) {
    case 'up':
      await up();
      return 0;
    case 'demo':
      return (await import('./demo.ts')).demo();
    case 'verify':
      return verify();
    case 'exercise':
      return exercise();
    case 'bench':
      await (await import('../bench/bench.ts')).bench();
      return 0;
    default:
      process.stdout.write(
        'Usage: pnpm lab saga <up|demo|verify [--dbs o,f,h,c,p]|exercise <n>|bench>\n',
      );
      return command === undefined ? 0 : 2;
  }
}

process.exit(await main());
