/**
 * `pnpm lab saga <task>`, one file per task in tasks/ (`exercise` is @lab/shared/testkit's):
 *   up [--monolith]    the five services on the ports in the root README, logs prefixed by service;
 *                      --monolith: one modular monolith serving the same API on 3201
 *   demo               a narrated run: a trip booked, one compensated, a crash recovered
 *   verify [--dbs o,f,h,c,p|--monolith]  audit the five databases (or the monolith's); exit 1 listing each violation
 *   reset [--dbs o,f,h,c,p] [--monolith-db name]  drop the databases up and up --monolith keep between runs
 *   exercise <n>       run exercise n's check (fails until the exercise is done)
 *   bench              the benchmark; writes bench/results.json and bench/REPORT.md
 */
import { join } from 'node:path';
import { misfitArgs, runExercise, taskExitCode, type TaskArgs } from '@lab/shared/testkit';

const [task, ...args] = process.argv.slice(2);

const ACCEPTS: Record<string, TaskArgs> = {
  up: { flags: ['monolith'] },
  demo: {},
  verify: { flags: ['monolith'], options: ['dbs'] },
  reset: { options: ['dbs', 'monolith-db'] },
  exercise: { positionals: 1 },
  bench: {},
};
const USAGE =
  'Usage: pnpm lab saga <up [--monolith]|demo|verify [--dbs o,f,h,c,p|--monolith]|reset [--dbs o,f,h,c,p] [--monolith-db name]|exercise <n>|bench>\n';

async function main(): Promise<number> {
  const accepts = task === undefined ? undefined : ACCEPTS[task];
  const misfit = accepts && misfitArgs(args, accepts);
  if (misfit) {
    process.stderr.write(`${misfit}\n\n${USAGE}`);
    return 2;
  }
  switch (task) {
    case 'up':
      return (await import('./tasks/up.ts')).up(args);
    case 'demo':
      return (await import('./tasks/demo.ts')).demo();
    case 'verify':
      return (await import('./tasks/verify.ts')).verify(args);
    case 'reset':
      return (await import('./tasks/reset.ts')).reset(args);
    case 'exercise':
      return runExercise(join(import.meta.dirname, '..'), 'saga', args[0]);
    case 'bench':
      return (await import('./tasks/bench.ts')).bench();
    default: {
      const asked = task === undefined || ['help', '--help', '-h'].includes(task);
      if (!asked) process.stderr.write(`Unknown task "${task}".\n\n`);
      process.stdout.write(USAGE);
      return asked ? 0 : 2;
    }
  }
}

process.exit(await taskExitCode(`saga ${task ?? ''}`.trim(), main));
