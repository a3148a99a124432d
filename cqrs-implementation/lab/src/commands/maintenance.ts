import { listDeadLetters, replayDeadLetters } from '../admin/dead-letters.ts';
import { rebuildReadModel } from '../admin/rebuild.ts';
import { rewindProjector } from '../admin/replay.ts';
import { defaultNamespace } from '../stack.ts';
import { connect } from './stores.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);

/** `pnpm lab cqrs dlq [list|replay]` */
export async function dlq(args: string[]): Promise<number> {
  const ns = defaultNamespace();
  const action = args[0] ?? 'list';
  if (action === 'list') {
    const letters = await listDeadLetters(ns);
    for (const l of letters)
      say(`${l.source}  ${l.summary}\n    reason: ${l.reason}\n    failed at ${l.failedAt}`);
    say(`${letters.length} dead letter(s)`);
    return 0;
  }
  if (action === 'replay') {
    say(`replayed ${await replayDeadLetters(ns)} dead letter(s) to the event topic`);
    return 0;
  }
  say('usage: pnpm lab cqrs dlq [list|replay]');
  return 2;
}

/** `pnpm lab cqrs rebuild [--force]` */
export async function rebuild(args: string[]): Promise<number> {
  const ns = defaultNamespace();
  const stores = connect(ns);
  try {
    const result = await rebuildReadModel(stores.pool, stores.redis, ns.redisKeyPrefix, {
      force: args.includes('--force'),
      log: say,
    });
    say(
      `rebuilt ${result.products} products and ${result.orders} orders: ${result.from} -> ${result.to}`,
    );
    return 0;
  } finally {
    await stores.close();
  }
}

/** `pnpm lab cqrs replay`: rewind the (stopped) projector to the start of the topic. */
export async function replay(): Promise<number> {
  await rewindProjector(defaultNamespace());
  say('projector group rewound to the beginning of the topic; start the projector to replay');
  return 0;
}
