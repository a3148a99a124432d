import { spawnService } from '@lab/shared/testkit';
import { gatewayEntry, supplierEntry } from '../lab-processes.ts';

/** Supplier (chaos on) at 3302 and gateway at 3301, logs prefixed, Ctrl-C stops both gracefully. */
export async function up(): Promise<number> {
  const supplier = await spawnService({
    entry: supplierEntry,
    port: Number(process.env.SUPPLIER_PORT ?? 3302),
    env: { LAB_CHAOS: '1' },
    echo: 'supplier',
  });
  const gateway = await spawnService({
    entry: gatewayEntry,
    port: Number(process.env.GATEWAY_PORT ?? 3301),
    env: { SUPPLIER_URL: supplier.url },
    echo: 'gateway',
  });
  process.stdout.write(
    `\nResilience lab is up: gateway ${gateway.url}, supplier ${supplier.url} (chaos on).\n` +
      `Try: curl ${gateway.url}/quotes/sku-1 ; curl ${gateway.url}/breakers\n` +
      `     curl -XPOST -H 'content-type: application/json' ${supplier.url}/_chaos -d '{"route":"prices","errorRate":1}'\n` +
      'Ctrl-C stops both.\n\n',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    void gateway.exited.then(() => {
      resolve();
    });
    void supplier.exited.then(() => {
      resolve();
    });
  });
  await Promise.all([gateway.stop(), supplier.stop()]);
  return 0;
}
