/**
 * `pnpm lab cqrs <task>`: the CQRS lab's harness, one file per task in tasks/ (`exercise` is
 * @lab/shared/testkit's). Every task works against the
 * infrastructure named by DATABASE_URL / REDIS_URL / KAFKA_BROKERS (the `pnpm infra:local`
 * defaults otherwise) and, except `demo` (a throwaway namespace on free ports), the lab's default
 * namespace (DATABASE_NAME, REDIS_KEY_PREFIX, KAFKA_TOPIC_PREFIX), the same one `up` starts the
 * services on.
 */
import { join } from 'node:path';
import { misfitArgs, runExercise, taskExitCode, type TaskArgs } from '@lab/shared/testkit';
import { bench } from './tasks/bench.ts';
import { demo } from './tasks/demo.ts';
import { dlq } from './tasks/dead-letters.ts';
import { rebuild } from './tasks/rebuild.ts';
import { replay } from './tasks/replay.ts';
import { reset } from './tasks/reset.ts';
import { up } from './tasks/up.ts';
import { verify } from './tasks/verify.ts';

const tasks: Record<
  string,
  { run: (args: string[]) => Promise<number> | number; help: string; accepts?: TaskArgs }
> = {
  up: {
    run: up,
    accepts: { flags: ['monolith'] },
    help: 'start the four services at ports 3101-3104, logs prefixed; Ctrl-C stops [--monolith]',
  },
  demo: { run: demo, help: 'narrated scenario: the pattern working, then failing and recovering' },
  verify: {
    run: verify,
    accepts: { flags: ['monolith'] },
    help: 'audit the write model and compare it with Redis; exit 1 on drift [--monolith: its write model]',
  },
  dlq: {
    run: dlq,
    help: 'dlq list | dlq replay: dead-lettered events',
    accepts: { positionals: 1 },
  },
  rebuild: {
    run: rebuild,
    accepts: { flags: ['force'] },
    help: 'build a new read-model generation live and switch to it [--force]',
  },
  replay: { run: replay, help: 'rewind the stopped projector to the beginning of the topic' },
  reset: {
    run: reset,
    help: 'drop what up keeps between runs (databases, Redis keys, topics, groups); lab stopped',
  },
  exercise: {
    run: (args) => runExercise(join(import.meta.dirname, '..'), 'cqrs', args[0]),
    help: 'exercise <n>: run that exercise check',
    accepts: { positionals: 1 },
  },
  bench: { run: bench, help: 'benchmarks; writes bench/results.json and bench/REPORT.md' },
};

const [name = '', ...args] = process.argv.slice(2);
const task = tasks[name];
if (!task) {
  const asked = ['', 'help', '--help', '-h'].includes(name);
  if (!asked) process.stderr.write(`Unknown task "${name}".\n\n`);
  process.stdout.write('Usage: pnpm lab cqrs <task>\n\n');
  for (const [key, { help }] of Object.entries(tasks))
    process.stdout.write(`  ${key.padEnd(9)} ${help}\n`);
  process.exit(asked ? 0 : 2);
}
const misfit = misfitArgs(args, task.accepts);
if (misfit) {
  process.stderr.write(`${misfit}\n\nUsage: pnpm lab cqrs ${name}: ${task.help}\n`);
  process.exit(2);
}
process.exit(await taskExitCode(`cqrs ${name}`, () => task.run(args)));
