/**
 * What a lab run creates on the shared infrastructure and must remove again: databases it was
 * given to own, Redis key prefixes, Kafka topic prefixes (and consumer groups named after
 * them). Owning is declared up front, so a run that fails half-way still knows what to drop.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { forgetLeftover, rememberLeftover } from './leftovers.ts';

export interface OwnedResources {
  /**
   * Databases on this PostgreSQL server (the admin URL: any database on it), and the roles whose
   * names start with one of `rolePrefixes`: roles belong to the server, not to a database, so
   * dropping a database leaves them behind. They are dropped after the databases, whose grants
   * are what would have kept them.
   */
  postgres?: { url: string; databases: string[]; rolePrefixes?: string[] };
  redis?: { url: string; keyPrefixes: string[] };
  kafka?: { brokers: string; topicPrefixes: string[] };
}

/** Each store gets this long; a store that is already gone (a destroyed private one) is skipped. */
const RELEASE_BUDGET_MS = 15_000;

/** What this process owns, each with its entry in the list a watcher undoes if it dies. */
const owned = new Map<OwnedResources, number>();

/**
 * Declares resources this process must drop; `releaseOwned()` (or its exit, or the watcher of
 * leftovers.ts if it is killed) drops them. Declared as they are at this call: a name added to
 * the lists later is not seen by the watcher.
 */
export function own(resources: OwnedResources): OwnedResources {
  if (!owned.has(resources)) owned.set(resources, rememberLeftover({ resources }));
  return resources;
}

/** Drops these resources now and forgets them; errors are reported, never thrown. */
export async function release(resources: OwnedResources): Promise<string[]> {
  // Not dropped twice by this process's exit; still listed for the watcher until it is done.
  const leftover = owned.get(resources);
  owned.delete(resources);
  const problems: string[] = [];
  const attempt = async (what: string, work: () => Promise<void>) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        work(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            reject(new Error(`no answer within ${RELEASE_BUDGET_MS} ms`));
          }, RELEASE_BUDGET_MS);
          timer.unref();
        }),
      ]);
    } catch (error) {
      problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      clearTimeout(timer);
    }
  };
  const { postgres, redis, kafka } = resources;
  await Promise.all([
    postgres && attempt('dropping databases and roles', () => dropDatabases(postgres)),
    redis && attempt('deleting Redis keys', () => deleteKeys(redis)),
    kafka && attempt('deleting Kafka topics', () => deleteTopics(kafka)),
  ]);
  forgetLeftover(leftover);
  return problems;
}

/** Releases everything this process still owns. */
export async function releaseOwned(): Promise<string[]> {
  const all = [...owned.keys()];
  return (await Promise.all(all.map((resources) => release(resources)))).flat();
}

async function dropDatabases({
  url,
  databases,
  rolePrefixes = [],
}: NonNullable<OwnedResources['postgres']>) {
  // An empty prefix would mean every role on the server: never owned, never dropped.
  const prefixes = rolePrefixes.filter((prefix) => prefix.length > 0);
  if (databases.length === 0 && prefixes.length === 0) return;
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    for (const name of databases)
      await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    for (const prefix of prefixes) {
      const { rows } = await client.query<{ rolname: string }>(
        'SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)',
        [prefix],
      );
      for (const { rolname } of rows)
        await client.query(`DROP ROLE IF EXISTS ${quoteIdent(rolname)}`);
    }
  } finally {
    await client.end();
  }
}

async function deleteKeys({ url, keyPrefixes }: { url: string; keyPrefixes: string[] }) {
  // An empty prefix would mean every key on the server: never owned, never deleted.
  const prefixes = keyPrefixes.filter((prefix) => prefix.length > 0);
  if (prefixes.length === 0) return;
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    for (const prefix of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(
          cursor,
          'MATCH',
          `${globEscape(prefix)}*`,
          'COUNT',
          500,
        );
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}

/** Longer than any session timeout the labs' consumers use (the projector's is 6 s). */
const GROUP_EMPTY_WAIT_MS = 15_000;

/**
 * A group whose member was SIGKILLed refuses to be deleted (NON_EMPTY_GROUP) until the broker
 * has given up on that member, one session timeout later; left there, it would outlive the
 * test for the broker's week of offset retention. So the refused ones are asked again until
 * they go, within a bound.
 */
export async function deleteGroupsOnceEmpty(
  admin: { deleteGroups: (ids: string[]) => Promise<unknown> },
  groupIds: string[],
): Promise<void> {
  const deadline = Date.now() + GROUP_EMPTY_WAIT_MS;
  let left = groupIds;
  while (left.length > 0) {
    try {
      await admin.deleteGroups(left);
      return;
    } catch (error) {
      const refused = (error as { groups?: { groupId: string }[] }).groups;
      // Anything but a per-group refusal (the broker gone, say) is not worth waiting for.
      if (!refused || Date.now() > deadline) return;
      left = refused.map((group) => group.groupId);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function deleteTopics({
  brokers,
  topicPrefixes,
}: {
  brokers: string;
  topicPrefixes: string[];
}) {
  const prefixes = topicPrefixes.filter((prefix) => prefix.length > 0);
  if (prefixes.length === 0) return;
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({
    clientId: 'lab-testkit-cleanup',
    brokers: brokers.split(','),
    connectionTimeout: 2000,
    retry: { retries: 1, initialRetryTime: 100 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const mine = (name: string) => prefixes.some((prefix) => name.startsWith(prefix));
    const { groups } = await admin.listGroups();
    const groupIds = groups.map((group) => group.groupId).filter(mine);
    await deleteGroupsOnceEmpty(admin, groupIds);
    const topics = (await admin.listTopics()).filter(mine);
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
  } finally {
    await admin.disconnect();
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

const releaseScript = fileURLToPath(new URL('./release-resources.ts', import.meta.url));

/**
 * Last resort when the process exits with resources still owned (a demo that threw past its
 * cleanup, a test worker whose afterAll never ran): an exit handler cannot wait for a promise,
 * so a short-lived child process drops them while this one waits for it.
 */
process.once('exit', () => {
  if (owned.size === 0) return;
  const dropped = spawnSync(process.execPath, [releaseScript, JSON.stringify([...owned.keys()])], {
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 60_000,
  });
  // Killed on the way (a second Ctrl-C reaches this process's whole group): the watcher of
  // leftovers.ts, in a session of its own, still has them listed and drops them.
  if (dropped.status === 0) for (const id of owned.values()) forgetLeftover(id);
});

/**
 * Ctrl-C during a demo: without a handler Node dies at once and the exit handler above never
 * runs. While something is owned, a SIGINT or SIGTERM becomes an ordinary exit, which drops it.
 * A command that handles the signal itself (`up`) and owns nothing is left alone, and with
 * nothing owned and no other handler the signal ends the process as it always would.
 * Not in a vitest worker: there the runner owns the signals and the file's cleanup hook runs.
 */
if (!('__vitest_worker__' in globalThis)) {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.on(signal, () => {
      if (owned.size === 0 && process.listenerCount(signal) > 1) return;
      process.exit(code);
    });
  }
}
