import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.ts';

export interface SpawnOptions {
  /** Absolute path of the service's `src/start.ts`. */
  entry: string;
  env?: Record<string, string | undefined>;
  /** Port to bind; 0 (default) lets the OS pick, and the service's `listening` log says which. */
  port?: number;
  readyPath?: string;
  timeoutMs?: number;
  /** Also print each log line to this process's stdout behind `[echo]`, as `pnpm lab up` does. */
  echo?: string;
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

const telemetryRegister = fileURLToPath(new URL('../telemetry/register.ts', import.meta.url));
const exitWithParent = fileURLToPath(new URL('./exit-with-parent.ts', import.meta.url));
const running = new Set<ChildProcess>();
// A test that fails half-way must not leave services running into the next test file.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** The node arguments every lab service starts with, here and in `pnpm lab <lab> up`. */
export function serviceNodeArgs(entry: string): string[] {
  return ['--import', telemetryRegister, '--disable-warning=TimeoutNegativeWarning', entry];
}

/**
 * Starts a service as its own process, exactly as `pnpm lab ... up` does, and resolves once
 * GET /readyz answers 200: the service is listening and its dependencies answer.
 */
export async function spawnService(options: SpawnOptions): Promise<SpawnedService> {
  const child = spawn(
    process.execPath,
    ['--import', exitWithParent, ...serviceNodeArgs(options.entry)],
    {
      env: { ...process.env, LOG_LEVEL: 'info', ...options.env, PORT: String(options.port ?? 0) },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  running.add(child);
  const logs: string[] = [];
  let listeningUrl: string | undefined;
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line) continue;
      logs.push(line);
      if (options.echo) process.stdout.write(`[${options.echo}] ${line}\n`);
      if (!listeningUrl && line.includes('"listening"')) {
        try {
          listeningUrl = (JSON.parse(line) as { url?: string }).url;
        } catch {
          // A non-JSON line that mentions listening; keep looking.
        }
      }
    }
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code;
      running.delete(child);
      resolve(code);
    });
  });
  const alive = () => exitCode === undefined;

  const timeoutMs = options.timeoutMs ?? 15_000;
  const url = await waitFor(
    `${options.entry} to log its listening address`,
    () => {
      if (!alive())
        throw new Error(`exited with ${String(exitCode)}:\n${logs.slice(-20).join('\n')}`);
      return listeningUrl;
    },
    { timeoutMs, intervalMs: 20 },
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  await waitFor(
    `${url}${options.readyPath ?? '/readyz'} to answer 200`,
    async () => {
      if (!alive())
        throw new Error(`exited with ${String(exitCode)}:\n${logs.slice(-20).join('\n')}`);
      const res = await fetch(`${url}${options.readyPath ?? '/readyz'}`);
      return res.status === 200;
    },
    { timeoutMs, intervalMs: 20 },
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });

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
