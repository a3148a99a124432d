import { databasesInUse } from '@lab/shared/pg';
import { release } from '@lab/shared/testkit';
import { defaultNamespace } from '../services.ts';

/**
 * `pnpm lab cqrs reset`: drops what `up` and `up --monolith` keep between runs in the lab's
 * default namespace, so the next `up` starts from nothing: the write model's database (and the
 * monolith's), the read models' Redis keys, the event topics and the consumer groups. Refused
 * while anything is connected to those databases (a lab still running would recreate what is
 * being dropped, and lose what it is doing).
 */
export async function reset(): Promise<number> {
  const ns = defaultNamespace();
  // `up --monolith` uses DATABASE_NAME too when it is set, else its own database.
  const databases = [...new Set([ns.databaseName, process.env.DATABASE_NAME ?? 'cqrs_monolith'])];
  const inUse = await databasesInUse(ns.databaseUrl, databases);
  if (inUse.length > 0) {
    process.stderr.write(
      `reset: ${inUse.join(', ')} in use; stop \`pnpm lab cqrs up\` (Ctrl-C) and anything else connected first.\n`,
    );
    return 2;
  }
  const problems = await release({
    postgres: { url: ns.databaseUrl, databases },
    redis: { url: ns.redisUrl, keyPrefixes: [`${ns.redisKeyPrefix}cqrs:`] },
    // The event topics are `cqrs.events…`, the projector's consumer groups `cqrs-projector…`.
    kafka: {
      brokers: ns.kafkaBrokers,
      topicPrefixes: [`${ns.topicPrefix}cqrs.`, `${ns.topicPrefix}cqrs-`],
    },
  });
  for (const problem of problems) process.stderr.write(`reset: ${problem}\n`);
  if (problems.length > 0) return 1;
  // What is true now, whether or not each one existed before.
  process.stdout.write(
    `reset: nothing is left of databases ${databases.join(', ')}, Redis keys ${ns.redisKeyPrefix}cqrs:*, ` +
      `topics and consumer groups ${ns.topicPrefix}cqrs.* and ${ns.topicPrefix}cqrs-*\n`,
  );
  return 0;
}
