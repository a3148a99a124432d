import type { ChildProcess } from 'node:child_process';
/**
 * What `pnpm lab <lab> up` waits on before it stops its services: the first SIGINT or SIGTERM.
 * Called before the lab starts, so a Ctrl-C during start-up lets the start finish and then stops
 * everything cleanly, instead of leaving a half-started lab. The handlers stay for good, so a
 * later signal is absorbed while the lab stops: a second Ctrl-C, or the SIGTERM the dispatcher
 * passes on when its whole group got one too, would otherwise kill the CLI halfway through
 * stopping and leave services running.
 */
export function stopRequested(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * Starts a lab with `stop` (from stopRequested) already listened for. A Ctrl-C or a SIGTERM to
 * the whole process group reaches the services too, and a service that stops while the start
 * still waits for it to answer /readyz fails the start: that is the stop the user asked for,
 * not an error. The start cleans up what it began; this answers undefined instead of throwing.
 */
export async function startUnlessStopped<T>(
  stop: Promise<void>,
  start: () => Promise<T>,
): Promise<T | undefined> {
  // An object, not a local: the flag is set in a callback the compiler does not follow.
  const asked = { stop: false };
  void stop.then(() => {
    asked.stop = true;
  });
  try {
    return await start();
  } catch (error) {
    if (asked.stop) return undefined;
    throw error;
  }
}

/**
 * Says so when a service of a running lab exits before the lab is stopped (a `kill -9` the
 * guide suggests, or a crash), with how to start it again. The other services keep running, and
 * `up` does not restart it by itself: a service that stays down is what such an experiment
 * shows.
 */
export function reportEarlyExits(
  services: Record<string, { child: ChildProcess } | undefined>,
  stop: Promise<void>,
  howToRestart: string,
): void {
  // An object, not a local: the flag is set in a callback the compiler does not follow.
  const asked = { stop: false };
  void stop.then(() => {
    asked.stop = true;
  });
  for (const [name, service] of Object.entries(services)) {
    service?.child.once('exit', (code, signal) => {
      if (asked.stop) return;
      process.stdout.write(
        `\n${name} exited (${signal ?? `code ${String(code)}`}); the other services keep running. ` +
          `To start it again: ${howToRestart}\n`,
      );
    });
  }
}
