import type pg from 'pg';
import type { Logger } from '@lab/shared/logging';

/**
 * LISTEN outbox_inserted: the trigger on the outbox NOTIFYs at commit, so the relay wakes
 * within a millisecond of a new event instead of polling hard. Notifications are not stored
 * while no one listens, so the wait also ends on a timeout (the polling fallback), and a
 * dropped listening connection is simply reopened on the next wait.
 */
export function createWakeUp(databaseUrl: string, logger: Logger, Client: typeof pg.Client) {
  let client: pg.Client | undefined;
  let connecting: Promise<void> | undefined;
  let waiter: (() => void) | undefined;
  let pending = false;

  const wake = () => {
    pending = true;
    waiter?.();
  };

  const ensureListening = () =>
    (connecting ??= (async () => {
      const next = new Client({ connectionString: databaseUrl });
      next.on('notification', wake);
      // A server restart ends the session with an error or just closes it; either way the next
      // wait opens a new one, and a wake-up now makes the relay look at what was missed.
      const lost = (error?: Error) => {
        if (client !== next) return;
        logger.warn({ err: error }, 'LISTEN connection lost; polling until it is back');
        client = undefined;
        connecting = undefined;
        wake();
      };
      next.on('error', lost);
      next.on('end', () => {
        lost();
      });
      try {
        await next.connect();
        await next.query('LISTEN outbox_inserted');
      } catch (error) {
        await next.end().catch(() => undefined);
        throw error;
      }
      client = next;
    })().catch((error: unknown) => {
      connecting = undefined;
      logger.warn({ err: error }, 'cannot LISTEN; polling');
    }));

  const wait = async (ms: number) => {
    if (!client) await ensureListening();
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

  const close = async () => {
    const current = client;
    client = undefined;
    await current?.end().catch(() => undefined);
  };

  return { wait, wake, close };
}
