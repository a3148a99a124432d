import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { traceFileFromEnv } from './trace-export.ts';

export interface SpawnOptions {
  /** Absolute path of the service's `src/start.ts`. */
  entry: string;
  env?: Record<string, string | undefined>;
  /** Port to bind; 0 (default) lets the OS pick, and the service announces which. */
  port?: number;
  readyPath?: string;
  /**
   * Budget for each phase: announcing the address, then /readyz answering 200. 40 s each by
   * default, so a start that fails says why inside the 60 s a test of @lab/shared gets.
   */
  timeoutMs?: number;
  /** Also print each log line to this process's stdout behind `[echo]`, as `pnpm lab up` does. */
  echo?: string;
  /**
   * False starts the entry without the telemetry register: for a bench baseline that measures
   * what the register itself costs a service, and for the console, which names its own trace
   * in each action's `traceparent` (the register's fetch instrumentation would add a second).
   */
  telemetry?: boolean;
}

export interface SpawnedService {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Every line the service wrote to stdout and stderr so far. */
  logs: string[];
  exited: Promise<number | null>;
  alive: () => boolean;
  /** SIGKILL: the process gets no chance to clean up, as in a crash or an OOM kill. */
  kill: () => Promise<void>;
  /** SIGTERM and wait for the exit code: the graceful path. */
  stop: () => Promise<number | null>;
}

/**
 * Set in every service the test kit spawns: `start()` in @lab/shared/http then announces its
 * bound address over the IPC channel, so finding a service never depends on its log level or
 * log format.
 */
export const ANNOUNCE_ENV = 'LAB_ANNOUNCE_LISTENING';
export interface ListeningMessage {
  type: 'listening';
  url: string;
}

const telemetryRegister = fileURLToPath(new URL('../telemetry/register.ts', import.meta.url));
const traceFileRegister = fileURLToPath(new URL('./trace-file-register.ts', import.meta.url));
const exitWithParent = fileURLToPath(new URL('./exit-with-parent.ts', import.meta.url));
/**
 * Node's on-disk cache of compiled modules, shared by every service this kit starts (and by
 * `pnpm lab`, which uses the same folder). A service start compiles OpenTelemetry's SDK, Express
 * and the drivers, about 0.4 s of CPU that the cache saves on every start after the first; a
 * test file starts a dozen services. Keyed by each file's content, so an edit is never served
 * stale; under node_modules, so git and a fresh clone ignore it.
 */
const compileCache = fileURLToPath(
  new URL('../../../node_modules/.cache/node-compile-cache', import.meta.url),
);
const running = new Set<ChildProcess>();
// A test that fails half-way must not leave services running into the next test file.
// First among the exit handlers: the one that drops what the process owned (resources.ts)
// must not find a service still writing into it, which would put back what it deleted.
process.prependOnceListener('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * The node arguments every lab service starts with, here and in `pnpm lab <lab> up`. With
 * LAB_TRACE_EXPORT=file:<path> in the service's environment, the test kit's register writes
 * its spans to that file (see trace-export.ts); otherwise it is the service's own register.
 */
export function serviceNodeArgs(entry: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const register = traceFileFromEnv(env) === undefined ? telemetryRegister : traceFileRegister;
  return ['--import', register, entry];
}

const TAIL_LINES = 30;

function isListening(message: unknown): message is ListeningMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { type?: unknown }).type === 'listening' &&
    typeof (message as { url?: unknown }).url === 'string'
  );
}

/**
 * Polls `probe` until it yields a value; gives up at once when the process has died (waiting
 * out the deadline would only hide the crash) and at the deadline otherwise.
 */
async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  alive: () => boolean,
  deadline: number,
): Promise<T> {
  let lastError: unknown;
  for (;;) {
    if (!alive()) throw new Error(`it exited while waiting ${what}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out waiting ${what}${why}`);
    }
    await sleep(20);
  }
}

/**
 * Starts a service as its own process, exactly as `pnpm lab ... up` does, and resolves once
 * GET /readyz answers 200: the service is listening and its dependencies answer.
 */
export async function spawnService(options: SpawnOptions): Promise<SpawnedService> {
  const env = {
    NODE_COMPILE_CACHE: compileCache,
    ...process.env,
    LOG_LEVEL: 'info',
    ...options.env,
    PORT: String(options.port ?? 0),
    [ANNOUNCE_ENV]: 'ipc',
  };
  const child = spawn(
    process.execPath,
    [
      '--import',
      exitWithParent,
      ...(options.telemetry === false ? [options.entry] : serviceNodeArgs(options.entry, env)),
    ],
    {
      env,
      // stdin is the exit-with-parent lifeline; the fourth descriptor carries the address.
      stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
    },
  );
  running.add(child);
  const logs: string[] = [];
  let listeningUrl: string | undefined;
  child.on('message', (message) => {
    if (isListening(message)) listeningUrl ??= message.url;
  });
  const collectLine = (line: string) => {
    if (!line) return;
    logs.push(line);
    if (options.echo) process.stdout.write(`[${options.echo}] ${line}\n`);
    // A process not built on @lab/shared/http (a benchmark baseline) can only say it in a log.
    if (!listeningUrl && line.includes('"listening"')) {
      try {
        listeningUrl = (JSON.parse(line) as { url?: string }).url;
      } catch {
        // A non-JSON line that mentions listening; keep looking.
      }
    }
  };
  // A pipe delivers chunks, not lines: the part after the last newline waits for the rest.
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) collectLine(line);
    });
    stream?.on('end', () => {
      collectLine(partial);
      partial = '';
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  let exitCode: number | null | undefined;
  let exitSignal: NodeJS.Signals | null = null;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      exitCode = code;
      exitSignal = signal;
      running.delete(child);
      resolve(code);
    });
  });
  // 'close' comes after the last byte of stdout and stderr: the tail of a crash is complete.
  const closed = new Promise<void>((resolve) => {
    child.once('close', () => {
      resolve();
    });
  });
  const alive = () => exitCode === undefined;

  // A deadline, not a wait: a healthy service announces itself in a second or two. The budget
  // is for a 2-core machine where three test files boot services at once (one of them fifteen
  // processes together) and the OpenTelemetry loader thread of a traced service waits its turn.
  const timeoutMs = options.timeoutMs ?? 40_000;
  const readyPath = options.readyPath ?? '/readyz';
  const failStart = async (error: unknown): Promise<never> => {
    const wasAlive = alive();
    if (wasAlive) child.kill('SIGKILL');
    await Promise.race([closed, sleep(2000, undefined, { ref: false })]);
    const reason = error instanceof Error ? error.message : String(error);
    const how = wasAlive
      ? 'it was killed'
      : `it exited with ${exitSignal ? `signal ${exitSignal}` : `code ${String(exitCode)}`}`;
    const tail = logs.slice(-TAIL_LINES);
    throw new Error(
      `${options.entry} did not become ready: ${reason}; ${how}. ` +
        (tail.length > 0
          ? `Its last ${tail.length} log line(s):\n${tail.join('\n')}`
          : 'It wrote nothing to stdout or stderr.'),
    );
  };
  const url = await until(
    'to announce its listening address',
    () => listeningUrl,
    alive,
    Date.now() + timeoutMs,
  ).catch(failStart);
  await until(
    `for ${url}${readyPath} to answer 200`,
    async () => {
      const res = await fetch(`${url}${readyPath}`);
      await res.body?.cancel();
      return res.status === 200 || undefined;
    },
    alive,
    Date.now() + timeoutMs,
  ).catch(failStart);

  return {
    url,
    port: Number(new URL(url).port),
    pid: child.pid ?? -1,
    child,
    logs,
    exited,
    alive,
    kill: async () => {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (alive()) child.kill('SIGTERM');
      return exited;
    },
  };
}
