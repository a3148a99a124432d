/**
 * `pnpm lab resilience <task>`: up, demo, verify, experiment <name> [--quick] [--out dir],
 * exercise <n>, bench.
 */
import { join } from 'node:path';
import { EXPERIMENTS } from './experiments/definitions.ts';
import { runExperiment } from './experiments/run-experiment.ts';

const labDir = join(import.meta.dirname, '..');
export const defaultResultsDir = join(labDir, 'bench', 'results');

import { misfitArgs, runExercise, taskExitCode, type TaskArgs } from '@lab/shared/testkit';

const [task, ...args] = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
};

const usage = `Usage: pnpm lab resilience <task>
  up [--monolith]            start supplier (3302, chaos on) and gateway (3301) in the foreground;
                             --monolith: the gateway alone at 3301, the supplier's module in-process
  demo                       narrated scenario: a slow supplier drowns an unprotected gateway, then not
  verify [--gateway url]     check breaker and bulkhead invariants (the live gateway, and the last experiments)
  experiment <${EXPERIMENTS.join('|')}> [--quick] [--out dir]
  exercise <n>               run exercise n's check
  bench                      breaker overhead, fail-fast latency and the cascade headline
`;

const ACCEPTS: Record<string, TaskArgs> = {
  up: { flags: ['monolith'] },
  demo: {},
  verify: { options: ['gateway', 'results'] },
  experiment: { positionals: 1, flags: ['quick'], options: ['out'] },
  exercise: { positionals: 1 },
  bench: {},
};

async function main(): Promise<number> {
  const accepts = task === undefined ? undefined : ACCEPTS[task];
  const misfit = accepts && misfitArgs(args, accepts);
  if (misfit) {
    process.stderr.write(`${misfit}\n\n${usage}`);
    return 2;
  }
  switch (task) {
    case 'up':
      return (await import('./tasks/up.ts')).up(args);
    case 'demo':
      return (await import('./tasks/demo.ts')).demo();
    case 'verify':
      return (await import('./tasks/verify.ts')).verify(
        option('gateway'),
        option('results') ?? defaultResultsDir,
      );
    case 'experiment': {
      const name = args[0];
      if (!name || !(EXPERIMENTS as readonly string[]).includes(name)) {
        process.stderr.write(usage);
        return 2;
      }
      await runExperiment(name, {
        quick: flag('quick'),
        outDir: option('out') ?? defaultResultsDir,
      });
      return 0;
    }
    case 'exercise':
      return runExercise(labDir, 'resilience', args[0]);
    case 'bench':
      return (await import('./tasks/bench.ts')).bench();
    default: {
      const asked = task === undefined || ['help', '--help', '-h'].includes(task);
      if (!asked) process.stderr.write(`Unknown task "${task}".\n\n`);
      process.stdout.write(usage);
      return asked ? 0 : 2;
    }
  }
}

process.exitCode = await taskExitCode(`resilience ${task ?? ''}`.trim(), main);
