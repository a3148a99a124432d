/**
 * Private PostgreSQL and Redis instances for fault tests. A test that restarts or stops a
 * dependency must never touch the machine's shared services (other test files, running in
 * parallel, depend on them), so it starts its own: a throwaway PostgreSQL cluster made with
 * `initdb` on a free port, a second `redis-server` on a free port. Both start in about a
 * second, run with nothing durable (fsync off, no RDB/AOF), and are removed by `destroy()`
 * or, if the test process dies first, by its exit hook.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forgetLeftover, rememberLeftover } from './leftovers.ts';
import { waitFor } from './wait.ts';

/** A port no one is listening on now (the OS picks it; the instance binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => {
      done(false);
    });
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}

/** `pid` and every process it started, parents first (from /proc: Linux only, like the lab). */
function processTree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name sits in parentheses and may hold spaces: the fields after it are fixed.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), parent);
    } catch {
      // The process ended while the list was read.
    }
  }
  const tree = [pid];
  // The array iterator reads the length at each step, so children pushed here are visited too.
  for (const member of tree)
    for (const [child, parent] of parentOf) if (parent === member) tree.push(child);
  return tree;
}

/**
 * SIGSTOP or SIGCONT to a server and its children: a stopped server keeps its sockets open and
 * accepts TCP connections into the kernel's backlog, but answers nothing, as a server that is
 * swapped out, paused by its hypervisor or behind a partition that drops packets would.
 */
function signalTree(pid: number, signal: 'SIGSTOP' | 'SIGCONT'): void {
  for (const each of processTree(pid)) {
    try {
      process.kill(each, signal);
    } catch {
      // Gone already.
    }
  }
}

const cleanups = new Set<() => void>();
// A test that fails half-way must not leave a cluster or a redis-server behind; one that is
// killed leaves them to the watcher of leftovers.ts, which each start tells what to stop.
process.once('exit', () => {
  for (const cleanup of cleanups) cleanup();
});

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/** The newest PostgreSQL server binaries installed from Debian packages. */
function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined)
    throw new Error(`no PostgreSQL server binaries under ${root} (apt-get install postgresql)`);
  return join(root, newest, 'bin');
}

/** PostgreSQL refuses to run as root; as root, the cluster belongs to the `postgres` account. */
function asClusterOwner(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0
    ? ['runuser', ['-u', 'postgres', '--', command, ...args]]
    : [command, args];
}

function run(command: string, args: string[]): void {
  const [cmd, argv] = asClusterOwner(command, args);
  const result = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} failed (${String(result.status)}):\n${result.stderr}`,
    );
}

export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`: a base URL as services take it. */
  url: string;
  port: number;
  /** Stops the server: `fast` disconnects every client, `immediate` is a crash. */
  stop: (mode?: 'fast' | 'immediate') => void;
  /** Starts it again on the same port with the same data; resolves once it accepts connections. */
  start: () => Promise<void>;
  /** stop + start, as `pg_ctlcluster ... restart -m fast` does to a production server. */
  restart: (mode?: 'fast' | 'immediate') => Promise<void>;
  /** SIGSTOP to the server and its backends: connections stay open, nothing is answered. */
  freeze: () => void;
  /** SIGCONT: the server carries on where it was, with every connection it had. */
  thaw: () => void;
  /** Stops the server and deletes the cluster. */
  destroy: () => void;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'lab-pg-'));
  const dirLeftover = rememberLeftover({ remove: dir });
  chmodSync(dir, 0o700);
  if (process.getuid?.() === 0) {
    const owner = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const group = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(dir, Number(owner.stdout.trim()), Number(group.stdout.trim()));
  }
  const data = join(dir, 'data');
  try {
    run(join(bin, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '--no-sync',
      '-E',
      'UTF8',
      '--locale=C',
    ]);
  } catch (error) {
    // No cluster, so nothing of it is left: not even its directory.
    rmSync(dir, { recursive: true, force: true });
    forgetLeftover(dirLeftover);
    throw error;
  }
  const port = await freePort();
  const options = [
    `-p ${port}`,
    "-c listen_addresses='127.0.0.1'",
    `-c unix_socket_directories='${dir}'`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=60',
  ].join(' ');
  let running = false;
  let frozen = false;
  let serverLeftover: number | undefined;
  const postmaster = () =>
    Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const freeze = () => {
    if (!running || frozen) return;
    signalTree(postmaster(), 'SIGSTOP');
    frozen = true;
  };
  const thaw = () => {
    if (!frozen) return;
    signalTree(postmaster(), 'SIGCONT');
    frozen = false;
  };
  const stop = (mode: 'fast' | 'immediate' = 'fast') => {
    if (!running) return;
    // A frozen server could not act on pg_ctl's signal.
    thaw();
    run(join(bin, 'pg_ctl'), ['-D', data, '-m', mode, '-w', 'stop']);
    running = false;
    forgetLeftover(serverLeftover);
  };
  const start = async () => {
    if (running) return;
    run(join(bin, 'pg_ctl'), [
      '-D',
      data,
      '-o',
      options,
      '-l',
      join(dir, 'server.log'),
      '-w',
      'start',
    ]);
    running = true;
    // pg_ctl starts the server in a session of its own: nothing reaches it when we die.
    serverLeftover = rememberLeftover({
      run: asClusterOwner(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']).flat(),
    });
    await waitFor(`private PostgreSQL on port ${port}`, () => accepting(port), {
      timeoutMs: 15_000,
    });
  };
  const destroy = () => {
    try {
      stop('immediate');
    } catch {
      // Already gone: only the files are left to remove.
    }
    rmSync(dir, { recursive: true, force: true });
    forgetLeftover(dirLeftover);
    cleanups.delete(destroy);
  };
  cleanups.add(destroy);
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop,
    start,
    restart: async (mode = 'fast') => {
      stop(mode);
      await start();
    },
    freeze,
    thaw,
    destroy,
  };
}

// ---------------------------------------------------------------------------------------------
// Redis

export interface PrivateRedis {
  url: string;
  port: number;
  /** SIGKILL: the cache node is gone, with everything it held (nothing is kept on disk). */
  stop: () => Promise<void>;
  /** A new, empty redis-server on the same port, as a replaced cache node would come back. */
  start: () => Promise<void>;
  restart: () => Promise<void>;
  /** SIGSTOP: the connection stays open, no command is answered. */
  freeze: () => void;
  /** SIGCONT: the server answers what it was sent meanwhile, in order. */
  thaw: () => void;
  destroy: () => Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let serverLeftover: number | undefined;
  const stop = async () => {
    const current = child;
    child = undefined;
    forgetLeftover(serverLeftover);
    // Never started, or already gone (an exit code, or a signal that killed it): its 'exit'
    // event is past, so there is nothing to stop or wait for.
    if (current?.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill('SIGKILL');
    await exited;
  };
  const start = async () => {
    if (child) return;
    const started = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    child = started;
    if (started.pid !== undefined) serverLeftover = rememberLeftover({ kill: started.pid });
    await waitFor(
      `private redis-server on port ${port}`,
      () => {
        if (started.exitCode !== null)
          throw new Error(`redis-server exited with ${started.exitCode}`);
        return accepting(port);
      },
      { timeoutMs: 10_000 },
    );
  };
  const kill = () => {
    child?.kill('SIGKILL');
    // Killed here: a pid left listed could belong to another process by the time it is read.
    forgetLeftover(serverLeftover);
  };
  cleanups.add(kill);
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    restart: async () => {
      await stop();
      await start();
    },
    freeze: () => {
      if (child?.pid !== undefined) signalTree(child.pid, 'SIGSTOP');
    },
    thaw: () => {
      if (child?.pid !== undefined) signalTree(child.pid, 'SIGCONT');
    },
    destroy: async () => {
      await stop();
      cleanups.delete(kill);
    },
  };
}
