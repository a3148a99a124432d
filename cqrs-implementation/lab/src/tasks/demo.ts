import { waitFor } from '@lab/shared/testkit';
import { listDeadLetters, replayDeadLetters } from './dead-letters.ts';
import { verifyLab } from '../audit.ts';
import { commandClient, queryClient } from '../client.ts';
import { isolatedNamespace, releaseNamespace, startStack, type Stack } from '../services.ts';
import { connect } from '../stores.ts';

const step = (title: string) => process.stdout.write(`\n== ${title}\n`);
const say = (line: string) => process.stdout.write(`   ${line}\n`);

/**
 * `pnpm lab cqrs demo`: a narrated run on free ports and a throwaway namespace, so it never
 * touches the data of a running `up`. It shows the pattern working, then failing on purpose.
 */
export async function demo(): Promise<number> {
  const ns = isolatedNamespace('demo');
  step('Starting command service, relay, projector and query service on free ports');
  let stack: Stack | undefined;
  const stores = connect(ns);
  try {
    stack = await startStack({ ns, logLevel: process.env.LOG_LEVEL ?? 'info' });
    const commands = commandClient(stack.url('command'));
    const queries = queryClient(stack.url('query'), 10_000);
    step(
      '1. A write lands in PostgreSQL; its event travels outbox -> relay -> Kafka -> projector -> Redis',
    );
    const product = await commands.createProduct({
      sku: 'lamp',
      name: 'Desk lamp',
      priceCents: 4500,
      stock: 10,
    });
    say(`POST /products -> ${product.status}, version ${product.body.version}`);
    const order = await commands.placeOrder({
      customerId: 'ada',
      lines: [{ productId: product.body.id, quantity: 2 }],
    });
    say(
      `POST /orders -> ${order.status}; consistency token ${order.body.consistencyToken.slice(0, 24)}...`,
    );
    const immediate = await queries.order(order.body.id);
    // 404 not-found while the projector has not applied the order yet; 503 read-model-behind
    // while a projector that just started is still replaying the log into an empty read model.
    const problem = immediate.status === 200 ? '' : ` ${String(immediate.body.code)}`;
    say(
      `GET /orders/:id at once, without the token -> ${immediate.status}${problem} (the read model may not have it yet: eventual consistency)`,
    );
    const seen = await queries.order(order.body.id, order.body.consistencyToken);
    say(
      `GET /orders/:id with X-Consistency-Token -> ${seen.status}, total ${String(seen.body.totalCents)} cents (read-your-writes)`,
    );

    step('2. Invariants live in the write transaction: 20 concurrent orders for the 8 lamps left');
    const race = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        commands.placeOrder({
          customerId: `racer-${i}`,
          lines: [{ productId: product.body.id, quantity: 1 }],
        }),
      ),
    );
    say(
      `${race.filter((r) => r.status === 201).length} succeeded, ${race.filter((r) => r.status === 409).length} got 409 insufficient-stock`,
    );
    // A token promises at least its own write, and the orders committed in no particular
    // order: a read that waited for every winner's token shows them all.
    let lamp = await queries.product(product.body.id);
    for (const won of race.filter((r) => r.status === 201))
      lamp = await queries.product(product.body.id, won.body.consistencyToken);
    say(`read model: stock ${String(lamp.body.stock)}, units sold ${String(lamp.body.unitsSold)}`);

    step('3. Failure: the projector is SIGKILLed; writes go on, the read side falls behind');
    await stack.kill('projector');
    await commands.restock(product.body.id, 5);
    const restock = await commands.restock(product.body.id, 5);
    const behind = await queries.get(
      `/products/${product.body.id}`,
      restock.body.consistencyToken,
      300,
    );
    say(
      `GET with the restock's token (300 ms budget) -> ${behind.status} ${String(behind.body.code)}, Retry-After ${String(behind.headers.get('retry-after'))}`,
    );
    say('restarting the projector: it resumes from its last committed offset');
    await stack.start('projector');
    const caughtUp = await queries.get(
      `/products/${product.body.id}`,
      restock.body.consistencyToken,
      10_000,
    );
    say(`same query -> ${caughtUp.status}, stock ${String(caughtUp.body.stock)}: nothing was lost`);

    step(
      '4. Failure: a projector bug rejects ProductRestocked events (poison) -> dead-letter topic',
    );
    await stack.services.projector?.stop();
    await stack.start('projector', { LAB_CHAOS: '1', PROJECTOR_POISON_TYPES: 'ProductRestocked' });
    const poisoned = await commands.restock(product.body.id, 1);
    const letters = await waitFor(
      'the dead letter',
      async () => {
        const found = await listDeadLetters(ns);
        return found.length > 0 && found;
      },
      { timeoutMs: 30_000 },
    );
    say(`dlq list: ${letters[0]?.summary ?? ''} -- ${letters[0]?.reason ?? ''}`);
    const drift = await verifyLab(stores.pool, stores.redis, ns.redisKeyPrefix, 0);
    say(
      `verify now reports ${drift.length} drift: ${drift.map((d) => `${d.aggregate} ${d.problem}`).join('; ')}`,
    );
    say('fixing the projector (restart without the bug) and replaying the dead letters');
    await stack.services.projector?.stop();
    await stack.start('projector');
    say(`dlq replay: ${await replayDeadLetters(ns)} event(s) sent back to the topic`);
    const fixed = await queries.get(
      `/products/${product.body.id}`,
      poisoned.body.consistencyToken,
      10_000,
    );
    say(`product view -> version ${String(fixed.body.version)}, stock ${String(fixed.body.stock)}`);

    step('5. verify: every aggregate in PostgreSQL against Redis');
    const violations = await verifyLab(stores.pool, stores.redis, ns.redisKeyPrefix);
    say(
      violations.length === 0
        ? 'no drift, no broken invariant'
        : `${violations.length} violation(s)!`,
    );
    return violations.length === 0 ? 0 : 1;
  } finally {
    // Also when a step failed: the demo leaves no database, key, topic or process behind.
    step('Stopping the services and dropping the demo data');
    await stack?.stop();
    await stores.close();
    for (const problem of await releaseNamespace(ns)) say(`cleanup: ${problem}`);
  }
}
