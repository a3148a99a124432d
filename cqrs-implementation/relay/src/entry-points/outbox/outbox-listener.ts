import type { Logger } from '@lab/shared/logging';
import { listen } from '@lab/shared/pg';

/**
 * LISTEN outbox_inserted: the trigger on the outbox NOTIFYs at commit, so the relay wakes
 * within a millisecond of a new event instead of polling hard. PostgreSQL does not keep
 * notifications for a session that is not listening, so the wait also ends on a timeout (the
 * polling fallback), and the shared `listen` connection reconnects after a lost session,
 * LISTENs again and wakes the relay once it does, so the relay looks at whatever committed
 * while nobody was listening.
 */
export function createWakeUp(databaseUrl: string, logger: Logger) {
  let waiter: (() => void) | undefined;
  let pending = false;

  const wake = () => {
    pending = true;
    waiter?.();
  };

  const listener = listen({
    connectionString: databaseUrl,
    channels: ['outbox_inserted'],
    onNotification: wake,
    onListening: wake,
    logger,
  });

  const wait = async (ms: number) => {
    if (pending) {
      pending = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        waiter = undefined;
        resolve();
      }
      waiter = done;
    });
    pending = false;
  };

  return { wait, wake, close: listener.close };
}
