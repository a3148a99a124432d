/**
 * `pnpm lab <cqrs|saga|resilience> <command> [args]`: hands the command to the lab's own CLI
 * (`<lab>/lab/src/cli.ts`), which knows how to start its services, narrate its demo, audit
 * its invariants and check its exercises.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { LOG_LEVELS } from '../shared/src/config.ts';

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
const env = { ...process.env };
// A service refuses a LOG_LEVEL that is not one of pino's levels, as it refuses any bad
// setting. The lab's commands forgive the spelling instead: any case is taken, an empty one is
// unset, and anything else is said once and replaced by info, so a demo or `up` never stops
// over how much its services log.
if (env.LOG_LEVEL !== undefined) {
  const level = env.LOG_LEVEL.trim().toLowerCase();
  if (level === '') delete env.LOG_LEVEL;
  else if ((LOG_LEVELS as readonly string[]).includes(level)) env.LOG_LEVEL = level;
  else {
    process.stderr.write(
      `LOG_LEVEL=${env.LOG_LEVEL} is not a log level (${LOG_LEVELS.join(', ')}): the services log at info.\n`,
    );
    env.LOG_LEVEL = 'info';
  }
}
// Node's on-disk cache of compiled modules (keyed by content): every service after the first
// start skips compiling OpenTelemetry, Express and the drivers again. The test kit uses the
// same folder.
env.NODE_COMPILE_CACHE ??= join(root, 'node_modules', '.cache', 'node-compile-cache');
const task = args[0];
// `up` and `demo` send their services' spans to the Zipkin that `pnpm infra:local up` runs, so
// one user action can be followed across services in a real trace UI. A choice the user made
// (LAB_TRACE_EXPORT, or an OTLP collector) wins; without a Zipkin, spans stay unrecorded.
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
const consoleUrl = `http://127.0.0.1:${env.CONSOLE_PORT ?? '3000'}`;
/** The console this command started, and stops when its lab stops. */
let labConsole: ChildProcess | undefined;
/** Aborted when the lab's CLI has exited: the console watch below stops. */
const labStopped = new AbortController();
let consoleWatch: Promise<void> | undefined;
if (task === 'up' && consoleFlag < 0 && env.LAB_CONSOLE !== '0') {
  const started = await startConsole('first');
  if (started === 'reused') consoleWatch = watchConsole();
  else labConsole = started;
}

/** The console's /healthz names it; another server on the port is not reused. */
async function consoleAnswers(base: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/healthz', base), { signal: AbortSignal.timeout(1000) });
    return res.ok && ((await res.json()) as { service?: unknown }).service === 'console';
  } catch {
    return false;
  }
}

async function startConsole(
  why: 'first' | 'takeover',
): Promise<ChildProcess | 'reused' | undefined> {
  if (await consoleAnswers(consoleUrl)) {
    if (why === 'first') process.stdout.write(`console: ${consoleUrl} (already running)\n`);
    return 'reused';
  }
  // Said before the console answers: a learner who sees it answer has been told whose it is.
  if (why === 'takeover')
    process.stdout.write(
      `console: ${consoleUrl} (its lab stopped; this lab starts its own, which stops with this lab)\n`,
    );
  const child = spawn(process.execPath, [join(root, 'console', 'src', 'start.ts')], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...env, PORT: new URL(consoleUrl).port, LOG_LEVEL: 'warn' },
  });
  for (let waited = 0; waited < 10_000; waited += 200) {
    if (await consoleAnswers(consoleUrl)) {
      if (why === 'first')
        process.stdout.write(
          `console: ${consoleUrl} (watch the lab live; Ctrl-C stops it with the lab)\n`,
        );
      return child;
    }
    if (child.exitCode !== null) break;
    await setTimeout(200);
  }
  process.stderr.write(`console: did not start on ${consoleUrl}; the lab runs without it\n`);
  child.kill('SIGTERM');
  return undefined;
}

/**
 * A reused console belongs to the lab that started it and stops with that lab. This one looks
 * every two seconds while it runs and starts its own when the console is gone, so the page stays
 * up as long as any lab that asked for it does.
 */
async function watchConsole(): Promise<void> {
  const { signal } = labStopped;
  try {
    for (;;) {
      await setTimeout(2000, undefined, { signal });
      if (await consoleAnswers(consoleUrl)) continue;
      if (signal.aborted) return;
      const started = await startConsole('takeover');
      if (started === 'reused') continue; // Another lab's dispatcher was quicker.
      labConsole = started;
      return;
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

// Ctrl-C reaches the lab's CLI too (same process group), which stops its services gracefully;
// the dispatcher waits for that and exits with the CLI's status instead of dying first. A
// SIGINT sent to the dispatcher alone (`kill -INT <pid>`, a supervisor that stops with it) is
// passed on as it is: a CLI that already has the group's Ctrl-C takes the second as the same
// request. A SIGTERM or SIGHUP sent to the dispatcher alone (`kill <pid>`, a process manager,
// a closed terminal) is passed on as SIGTERM, so the CLI stops its services instead of
// outliving it.
const cli = spawn(process.execPath, [cliOf(lab.dir), ...args], { stdio: 'inherit', env });
process.on('SIGINT', () => {
  cli.kill('SIGINT');
});
for (const signal of ['SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    cli.kill('SIGTERM');
  });
const status = await new Promise<number>((resolve) => {
  cli.once('exit', (code) => {
    resolve(code ?? 1);
  });
});
labStopped.abort();
// A takeover under way finishes first, so the console it starts is stopped below too.
await consoleWatch;
// A const the exit listener below can rely on (a takeover may have set it during the await).
const ownConsole = labConsole;
if (ownConsole?.exitCode === null) {
  const exited = new Promise((resolve) => ownConsole.once('exit', resolve));
  ownConsole.kill('SIGTERM');
  await exited;
}
process.exit(status);
