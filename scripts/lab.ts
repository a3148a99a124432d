/**
 * `pnpm lab <cqrs|saga|resilience> <command> [args]`: hands the command to the lab's own CLI
 * (`<lab>/lab/src/cli.ts`), which knows how to start its services, narrate its demo, audit
 * its invariants and check its exercises.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';

const root = join(import.meta.dirname, '..');
const labs: Record<string, { dir: string; pattern: string }> = {
  cqrs: {
    dir: 'cqrs-implementation',
    pattern: 'CQRS: write model, transactional outbox, Kafka, Redis read models',
  },
  saga: {
    dir: 'saga-orchestrator',
    pattern: 'Saga: orchestrated travel booking with compensations and crash recovery',
  },
  resilience: {
    dir: 'resilience-lab',
    pattern: 'Resilience: circuit breakers, timeouts, retries, bulkheads, fallbacks',
  },
};

const cliOf = (dir: string) => join(root, dir, 'lab', 'src', 'cli.ts');
const [name, ...args] = process.argv.slice(2);
const lab = name === undefined ? undefined : labs[name];

if (!lab) {
  const asked = name === undefined || ['help', '--help', '-h'].includes(name);
  if (!asked) process.stderr.write(`Unknown lab "${name}".\n\n`);
  process.stdout.write('Usage: pnpm lab <lab> <up|demo|verify|exercise <n>|...>\n\nLabs:\n');
  for (const [key, { dir, pattern }] of Object.entries(labs)) {
    const state = existsSync(cliOf(dir)) ? '' : '  (not built yet)';
    process.stdout.write(`  ${key.padEnd(11)} ${pattern}${state}\n`);
  }
  process.exit(asked ? 0 : 2);
}
if (!existsSync(cliOf(lab.dir))) {
  process.stderr.write(
    `The ${name} lab is not built yet: ${lab.dir}/lab/src/cli.ts does not exist.\n`,
  );
  process.exit(2);
}
// `up` and `demo` send their services' spans to the Zipkin that `pnpm infra:local up` runs, so
// one user action can be followed across services in a real trace UI. A choice the user made
// (LAB_TRACE_EXPORT, or an OTLP collector) wins; without a Zipkin, spans stay unrecorded.
const env = { ...process.env };
const task = args[0];
if (
  (task === 'up' || task === 'demo') &&
  env.LAB_TRACE_EXPORT === undefined &&
  env.OTEL_EXPORTER_OTLP_ENDPOINT === undefined &&
  (await zipkinAnswers(env.ZIPKIN_URL ?? 'http://127.0.0.1:9411'))
) {
  env.LAB_TRACE_EXPORT = 'zipkin';
  env.ZIPKIN_ENDPOINT ??= new URL('/api/v2/spans', env.ZIPKIN_URL ?? 'http://127.0.0.1:9411').href;
  process.stdout.write(
    `traces: ${env.ZIPKIN_URL ?? 'http://127.0.0.1:9411'} (Zipkin: Run Query, or search a trace id)\n`,
  );
}

/** Zipkin's /health names its storage under "zipkin"; anything else on the port is not it. */
async function zipkinAnswers(base: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/health', base), { signal: AbortSignal.timeout(1000) });
    return res.ok && ((await res.json()) as { zipkin?: unknown }).zipkin !== undefined;
  } catch {
    return false;
  }
}

// `up` also starts the lab console on port 3000, or reuses one already answering there (started
// by another lab's `up`): one page for every lab that runs. `--console=false` or LAB_CONSOLE=0
// skips it.
const consoleFlag = args.indexOf('--console=false');
if (consoleFlag >= 0) args.splice(consoleFlag, 1);
const labConsole =
  task === 'up' && consoleFlag < 0 && env.LAB_CONSOLE !== '0' ? await startConsole() : undefined;

/** The console's /healthz names it; another server on the port is not reused. */
async function consoleAnswers(base: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/healthz', base), { signal: AbortSignal.timeout(1000) });
    return res.ok && ((await res.json()) as { service?: unknown }).service === 'console';
  } catch {
    return false;
  }
}

async function startConsole(): Promise<ChildProcess | undefined> {
  const port = env.CONSOLE_PORT ?? '3000';
  const url = `http://127.0.0.1:${port}`;
  if (await consoleAnswers(url)) {
    process.stdout.write(`console: ${url} (already running)\n`);
    return undefined;
  }
  const child = spawn(process.execPath, [join(root, 'console', 'src', 'start.ts')], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...env, PORT: port, LOG_LEVEL: 'warn' },
  });
  for (let waited = 0; waited < 10_000; waited += 200) {
    if (await consoleAnswers(url)) {
      process.stdout.write(`console: ${url} (watch the lab live; Ctrl-C stops it with the lab)\n`);
      return child;
    }
    if (child.exitCode !== null) break;
    await setTimeout(200);
  }
  process.stderr.write(`console: did not start on ${url}; the lab runs without it\n`);
  child.kill('SIGTERM');
  return undefined;
}

// Ctrl-C reaches the lab's CLI too (same process group), which stops its services gracefully;
// the dispatcher waits for that and exits with the CLI's status instead of dying first. A
// SIGTERM or SIGHUP sent to the dispatcher alone (`kill <pid>`, a process manager, a closed
// terminal) is passed on as SIGTERM, so the CLI stops its services instead of outliving it.
process.on('SIGINT', () => undefined);
const cli = spawn(process.execPath, [cliOf(lab.dir), ...args], { stdio: 'inherit', env });
for (const signal of ['SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    cli.kill('SIGTERM');
  });
const status = await new Promise<number>((resolve) => {
  cli.once('exit', (code) => {
    resolve(code ?? 1);
  });
});
if (labConsole?.exitCode === null) {
  const exited = new Promise((resolve) => labConsole.once('exit', resolve));
  labConsole.kill('SIGTERM');
  await exited;
}
process.exit(status);
