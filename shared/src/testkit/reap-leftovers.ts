/**
 * `node reap-leftovers.ts <file>`: the watcher of leftovers.ts. Its stdin is a pipe from the
 * process it watches; when the pipe closes, that process is gone, and whatever its file still
 * lists is undone here, newest first. Problems are reported on stderr, never thrown: nobody is
 * left to act on them.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import type { Leftover } from './leftovers.ts';

const file = process.argv[2] ?? '';

async function reap(): Promise<void> {
  let leftovers: Leftover[];
  try {
    leftovers = JSON.parse(readFileSync(file, 'utf8')) as Leftover[];
  } catch {
    // No file: the process undid everything itself before it exited.
    return;
  }
  for (const leftover of leftovers.reverse()) {
    try {
      if ('kill' in leftover) {
        try {
          process.kill(leftover.kill, 'SIGKILL');
        } catch {
          // Gone already.
        }
      } else if ('run' in leftover) {
        const [command = '', ...args] = leftover.run;
        spawnSync(command, args, { stdio: 'ignore', timeout: 30_000 });
      } else if ('remove' in leftover) {
        rmSync(leftover.remove, { recursive: true, force: true });
      } else {
        // Only now: the store clients are heavy, and most watchers never need them.
        const { release } = await import('./resources.ts');
        for (const problem of await release(leftover.resources))
          process.stderr.write(`cleanup: ${problem}\n`);
      }
    } catch (error) {
      process.stderr.write(`cleanup: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  rmSync(file, { force: true });
}

let reaping: Promise<void> | undefined;
const onGone = () => {
  reaping ??= reap().finally(() => process.exit(0));
};
// The watched process's stderr may have no reader left (a vitest run that was interrupted).
process.stderr.on('error', () => undefined);
process.stdin.on('error', onGone);
process.stdin.on('end', onGone);
process.stdin.on('close', onGone);
process.stdin.resume();
