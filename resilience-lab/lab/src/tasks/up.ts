import { reportEarlyExits, startUnlessStopped, stopRequested } from '@lab/shared/testkit';
import { startLab, startMonolith } from '../services.ts';

/**
 * Supplier (chaos on) at 3302 and gateway at 3301, logs prefixed, Ctrl-C stops both gracefully.
 * `--monolith`: the gateway with the supplier's module in-process, alone at 3301.
 */
export async function up(args: string[] = []): Promise<number> {
  if (args.includes('--monolith')) return upMonolith();
  // Before the start: a Ctrl-C while the lab starts stops it once it is up.
  const stopSignal = stopRequested();
  const started = await startUnlessStopped(stopSignal, () =>
    startLab({
      supplierPort: Number(process.env.SUPPLIER_PORT ?? 3302),
      gatewayPort: Number(process.env.GATEWAY_PORT ?? 3301),
      echo: true,
      logLevel: process.env.LOG_LEVEL ?? 'info',
    }),
  );
  // Stopped before it was up: the services got the signal too and the start undid itself.
  if (!started) return 0;
  const { gateway, supplier, stop } = started;
  process.stdout.write(
    `\nResilience lab is up: gateway ${gateway.url}, supplier ${supplier.url} (chaos on).\n` +
      `Try: curl ${gateway.url}/quotes/sku-1 ; curl ${gateway.url}/breakers\n` +
      `     curl -XPOST -H 'content-type: application/json' ${supplier.url}/_chaos -d '{"target":"prices","faults":{"error":1}}'\n` +
      'Ctrl-C stops both.\n\n',
  );
  // A supplier killed by hand is the experiment (the gateway answers 503 supplier-unreachable):
  // up says so and keeps the gateway; it ends by itself only once both are gone.
  reportEarlyExits({ gateway, supplier }, stopSignal, 'Ctrl-C, then `pnpm lab resilience up`');
  await Promise.race([stopSignal, Promise.all([gateway.exited, supplier.exited])]);
  await stop();
  return 0;
}

async function upMonolith(): Promise<number> {
  // Before the start: a Ctrl-C while the lab starts stops it once it is up.
  const stopSignal = stopRequested();
  const started = await startUnlessStopped(stopSignal, () =>
    startMonolith({
      gatewayPort: Number(process.env.GATEWAY_PORT ?? 3301),
      echo: true,
      logLevel: process.env.LOG_LEVEL ?? 'info',
    }),
  );
  // Stopped before it was up: the services got the signal too and the start undid itself.
  if (!started) return 0;
  const { gateway, stop } = started;
  process.stdout.write(
    `\nResilience lab is up in-process: gateway ${gateway.url} calls the supplier's module, no supplier process (chaos on: error, hang and latency; reset and down need a connection).\n` +
      `Try: curl ${gateway.url}/quotes/sku-1 ; curl ${gateway.url}/breakers\n` +
      `     curl -XPOST -H 'content-type: application/json' ${gateway.url}/_chaos -d '{"target":"prices","faults":{"error":1}}'\n` +
      'Ctrl-C stops it.\n\n',
  );
  await Promise.race([stopSignal, gateway.exited]);
  await stop();
  return 0;
}
