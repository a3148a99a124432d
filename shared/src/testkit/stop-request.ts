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
