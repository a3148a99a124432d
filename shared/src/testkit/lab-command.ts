/**
 * Runs a lab command the way a user types it (`pnpm lab <lab> <command>` is
 * `node scripts/lab.ts <lab> <command>`), as a child process, and lists what a run left on
 * the shared infrastructure, so each lab's suite proves its demo works and cleans up.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.ts';

const labScript = fileURLToPath(new URL('../../../scripts/lab.ts', import.meta.url));

export interface LabCommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Whether any process the command started (a service) outlived it; such strays are killed. */
  leftProcesses: boolean;
}

/** How a long-running command (`up`) is stopped once it is ready, as a user or a supervisor would. */
export interface StopWhenReady {
  /**
   * Polled until true, e.g. the lab's /readyz answering 200 and its banner printed: what a user
   * waits for before pressing Ctrl-C. The output so far is passed in, because the command
   * announces itself after the services answer, and a signal between the two cuts the banner.
   */
  ready: (output: { stdout: string; stderr: string }) => Promise<boolean>;
  signal: NodeJS.Signals;
  /** The dispatcher alone (`kill <pid>`, a process manager) or its whole group (Ctrl-C). */
  to: 'dispatcher' | 'group';
}

/**
 * Resolves when the command exits. On the deadline the command's whole process group (its
 * lab CLI and every service that CLI started) is SIGKILLed and the promise rejects with the
 * output so far. With `stop`, the command is sent `stop.signal` once `stop.ready` holds.
 */
export async function runLabCommand(
  args: string[],
  {
    env = {},
    timeoutMs = 180_000,
    stop,
  }: { env?: Record<string, string>; timeoutMs?: number; stop?: StopWhenReady } = {},
): Promise<LabCommandResult> {
  const child = spawn(process.execPath, [labScript, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  if (stop && child.pid !== undefined) {
    const pid = child.pid;
    // A lab that never gets ready is caught by the deadline below, with its output.
    void waitFor('the command to be ready', () => stop.ready({ stdout, stderr }), {
      timeoutMs,
      intervalMs: 200,
    })
      .then(() => {
        process.kill(stop.to === 'group' ? -pid : pid, stop.signal);
      })
      .catch(() => undefined);
  }
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  // A test worker that ends early must not leave a demo running.
  process.once('exit', killGroup);
  return new Promise<LabCommandResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup();
      reject(
        new Error(
          `pnpm lab ${args.join(' ')} did not finish within ${timeoutMs} ms\n--- stdout\n${stdout}\n--- stderr\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      process.removeListener('exit', killGroup);
      const leftProcesses = groupAlive(child.pid);
      if (leftProcesses) killGroup();
      resolve({ code, stdout, stderr, leftProcesses });
    });
  });
}

/** Signal 0 to a process group: delivered (no error) while any member is alive. */
function groupAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Databases, Redis keys and Kafka topics whose names start with `prefix`: compare the lists
 * before and after a run to see what it left behind.
 */
export async function namesStartingWith(
  prefix: string,
  stores: { databaseUrl?: string; redisUrl?: string; kafkaBrokers?: string },
): Promise<string[]> {
  const found: string[] = [];
  if (stores.databaseUrl) {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: stores.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE starts_with(datname, $1)',
        [prefix],
      );
      found.push(...rows.map((row) => `database ${row.datname}`));
    } finally {
      await client.end();
    }
  }
  if (stores.redisUrl) {
    const { Redis } = await import('ioredis');
    const redis = new Redis(stores.redisUrl, { maxRetriesPerRequest: 1 });
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        found.push(...keys.map((key) => `redis key ${key}`));
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }
  if (stores.kafkaBrokers) {
    const { Kafka, logLevel } = await import('kafkajs');
    const admin = new Kafka({
      clientId: 'lab-testkit-leftovers',
      brokers: stores.kafkaBrokers.split(','),
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      found.push(...topics.filter((t) => t.startsWith(prefix)).map((t) => `topic ${t}`));
    } finally {
      await admin.disconnect();
    }
  }
  return found.sort();
}
