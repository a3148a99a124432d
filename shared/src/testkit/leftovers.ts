/**
 * What a test worker, demo or bench must undo if it dies before undoing it itself: resources it
 * owns on the shared stores and private servers it started. Exit handlers undo them on any
 * ordinary exit, but nothing runs in a process that is SIGKILLed, and that is how vitest ends
 * its workers after a Ctrl-C, how pnpm ends a script on a second Ctrl-C, and how an OOM ends
 * anything.
 *
 * So the process keeps its list of leftovers in a file, and a watcher process (reap-leftovers.ts)
 * outlives it: started in its own session, out of reach of the signals sent to this process's
 * group, it holds the other end of a pipe from this process. When the pipe closes, this process
 * is gone, by whatever means; the watcher undoes what the file still lists, then exits. After
 * an ordinary exit the list is empty and the watcher exits at once.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OwnedResources } from './resources.ts';

/** One thing to undo. Undone newest first, so a server stops before its directory goes. */
export type Leftover =
  | { resources: OwnedResources }
  /** A process to SIGKILL: a private redis-server or Kafka broker. */
  | { kill: number }
  /** A command to run: `pg_ctl stop -m immediate` for a private PostgreSQL cluster. */
  | { run: string[] }
  /** A directory to delete: a private cluster's or broker's data. */
  | { remove: string };

const watcherScript = fileURLToPath(new URL('./reap-leftovers.ts', import.meta.url));
// One file per process, straight in the temporary directory: nothing else to remove afterwards.
const file = join(tmpdir(), `lab-leftovers-${String(process.pid)}.json`);
const listed = new Map<number, Leftover>();
let nextId = 1;
let watching = false;

function write(): void {
  if (listed.size === 0) {
    rmSync(file, { force: true });
    return;
  }
  writeFileSync(file, JSON.stringify([...listed.values()]));
}

function startWatcher(): void {
  watching = true;
  const watcher = spawn(process.execPath, [watcherScript, file], {
    detached: true,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  // The watcher must not keep this process alive: it is here for when this process is gone.
  watcher.unref();
  // A pipe's end is a net.Socket, though ChildProcess types it as a plain stream.
  (watcher.stdin as unknown as Pick<Socket, 'unref'>).unref();
  // A watcher that could not start leaves the exit handlers as the only safety net.
  watcher.on('error', () => {
    watching = false;
  });
}

/** Lists something to undo should this process die first; returns the id that forgets it. */
export function rememberLeftover(leftover: Leftover): number {
  const id = nextId++;
  listed.set(id, leftover);
  write();
  if (!watching) startWatcher();
  return id;
}

/** Undone (or handed on): the watcher must not undo it again. */
export function forgetLeftover(id: number | undefined): void {
  if (id === undefined || !listed.delete(id)) return;
  write();
}
