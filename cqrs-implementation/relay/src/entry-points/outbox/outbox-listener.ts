import type { Logger } from '@lab/shared/logging';
import { createPool, listen, type PoolClient } from '@lab/shared/pg';

/**
 * The doorbell: a relay asleep on LISTEN holds this advisory lock, and the outbox trigger
 * (migration 002) NOTIFYs only when it cannot take the lock shared. Any constant works; it must
 * match the trigger's.
 */
const DOORBELL_LOCK = 3_101_104;
/**
 * The doorbell's queries are a lock call each, answered at once by a healthy session. One that
 * takes longer is a session in trouble: it is dropped (below) and the relay polls instead.
 */
const DOORBELL_QUERY_TIMEOUT_MS = 1000;

/**
 * LISTEN outbox_inserted: while the relay sleeps, the trigger on the outbox NOTIFYs at commit,
 * so the relay wakes within a millisecond of a new event. While it is awake it polls instead,
 * and commands skip the NOTIFY, whose commit-time lock would make them commit one at a time.
 *
 * Falling asleep is where an event could slip through: a command whose trigger saw an awake
 * relay rings no bell. So the relay first takes the doorbell lock exclusively, which fails
 * while any such command is still committing (its trigger holds the lock shared until its
 * commit); having it, the relay polls once more, then sleeps. Every later command rings.
 *
 * PostgreSQL does not keep notifications for a session that is not listening, so the wait
 * also ends on a timeout (the polling fallback), and the shared `listen` connection
 * reconnects after a lost session, LISTENs again and wakes the relay once it does, so the
 * relay looks at whatever committed while nobody was listening. A lost doorbell connection
 * releases the lock with its session: commands simply stop ringing until the next sleep.
 */
export function createOutboxDoorbell(databaseUrl: string, logger: Logger) {
  let waiter: (() => void) | undefined;
  let pending = false;
  // One session of its own: the lock lives and dies with it.
  const doorbellPool = createPool(databaseUrl, {
    max: 1,
    logger,
    query_timeout: DOORBELL_QUERY_TIMEOUT_MS,
  });
  let doorbell: PoolClient | undefined;
  let held = false;
  let refusals = 0;

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

  const doorbellClient = async (): Promise<PoolClient> => {
    if (doorbell) return doorbell;
    const client = await doorbellPool.connect();
    client.once('error', () => {
      if (doorbell !== client) return;
      doorbell = undefined;
      held = false;
      client.release(true);
    });
    doorbell = client;
    return client;
  };

  /**
   * A lock call that failed, or timed out, may still run on the server later: a timed-out take
   * would then hold the lock in a session the relay believes holds nothing, and every command
   * would ring from then on. Dropping the session is the one sure way to know what it holds:
   * nothing, once it ends.
   */
  const dropDoorbell = () => {
    const client = doorbell;
    doorbell = undefined;
    held = false;
    client?.release(true);
  };

  /** Exclusive: refused while a relay sleeps or a command that saw an awake relay commits. */
  const takeDoorbell = async (): Promise<boolean> => {
    const client = await doorbellClient();
    try {
      const { rows } = await client.query<{ taken: boolean }>(
        'SELECT pg_try_advisory_lock($1) AS taken',
        [DOORBELL_LOCK],
      );
      held = rows[0]?.taken === true;
      return held;
    } catch (error) {
      dropDoorbell();
      throw error;
    }
  };

  /** Awake again: commands stop ringing. */
  const leaveDoorbell = async () => {
    if (!held || !doorbell) return;
    held = false;
    try {
      await doorbell.query('SELECT pg_advisory_unlock($1)', [DOORBELL_LOCK]);
    } catch (error) {
      dropDoorbell();
      throw error;
    }
  };

  const sleepUntilWoken = async (ms: number) => {
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

  /**
   * Called when a poll found nothing. Resolves when the relay should poll again: at once after
   * taking the doorbell (the poll that closes the gap), otherwise on a NOTIFY or after `ms`.
   * `ring: false` (a standby relay, which cannot publish) sleeps without the doorbell.
   */
  const wait = async (ms: number, ring = true) => {
    if (!ring || !listener.listening()) {
      await leaveDoorbell().catch(() => undefined);
      await sleepUntilWoken(ms);
      return;
    }
    if (!held) {
      let taken = false;
      try {
        taken = await takeDoorbell();
      } catch (error) {
        logger.warn({ err: error }, 'cannot take the outbox doorbell; polling instead');
      }
      if (taken) {
        refusals = 0;
        return;
      }
      // A command is committing (it will be visible in a moment), or another relay sleeps
      // (then commands ring for it and the NOTIFY wakes this relay too): back off.
      refusals += 1;
      await sleepUntilWoken(Math.min(ms, 2 ** Math.min(refusals, 9)));
      return;
    }
    await sleepUntilWoken(ms);
    await leaveDoorbell().catch((error: unknown) => {
      logger.warn({ err: error }, 'cannot leave the outbox doorbell; its session will');
    });
  };

  /** The relay found work: it is awake, so commands need not ring. */
  const working = () => leaveDoorbell().catch(() => undefined);

  const close = async () => {
    await listener.close();
    dropDoorbell();
    await doorbellPool.end();
  };

  return { wait, wake, working, close };
}
