import { reportEarlyExits, startUnlessStopped, stopRequested } from '@lab/shared/testkit';
import { DEFAULT_PORTS, defaultNamespace, startStack } from '../services.ts';

/**
 * `pnpm lab cqrs up`: the four services at their default ports (the ones the root README lists),
 * logs prefixed, Ctrl-C stops them. `--monolith`: the same routes from one process on 3101.
 */
export async function up(args: string[] = []): Promise<number> {
  if (args.includes('--monolith')) return upMonolith();
  // Before the start: a Ctrl-C while the lab starts stops it once it is up.
  const stopSignal = stopRequested();
  const stack = await startUnlessStopped(stopSignal, () =>
    startStack({
      ns: defaultNamespace(),
      ports: DEFAULT_PORTS,
      echo: true,
      logLevel: process.env.LOG_LEVEL ?? 'info',
    }),
  );
  // Stopped before it was up: the services got the signal too and the start undid itself.
  if (!stack) return 0;
  process.stdout.write(
    [
      '',
      'CQRS lab is up:',
      `  command service  ${stack.url('command')}   POST /products, /orders, /orders/:id/cancel`,
      `  query service    ${stack.url('query')}   GET /orders/:id, /customers/:id/orders, /products/:id, /products/top`,
      `  relay            ${stack.url('relay')}/metrics`,
      `  projector        ${stack.url('projector')}/metrics`,
      'Ctrl-C stops them.',
      '',
    ].join('\n'),
  );
  reportEarlyExits(
    stack.services,
    stopSignal,
    'Ctrl-C, then `pnpm lab cqrs up` (the data stays in PostgreSQL, Kafka and Redis)',
  );
  await stopSignal;
  await stack.stop();
  return 0;
}

async function upMonolith(): Promise<number> {
  // Before the start: a Ctrl-C while the lab starts stops it once it is up.
  const stopSignal = stopRequested();
  const ns = { ...defaultNamespace(), databaseName: process.env.DATABASE_NAME ?? 'cqrs_monolith' };
  const stack = await startUnlessStopped(stopSignal, () =>
    startStack({
      ns,
      wiring: 'monolith',
      ports: { command: DEFAULT_PORTS.command },
      echo: true,
      logLevel: process.env.LOG_LEVEL ?? 'info',
    }),
  );
  // Stopped before it was up: the services got the signal too and the start undid itself.
  if (!stack) return 0;
  process.stdout.write(
    [
      '',
      `CQRS lab is up as a modular monolith (database ${ns.databaseName}, no Kafka, no Redis):`,
      `  ${stack.url('command')}   POST /products, /orders, /orders/:id/cancel`,
      `  ${stack.url('query')}   GET /orders/:id, /customers/:id/orders, /products/:id, /products/top`,
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
  await stopSignal;
  await stack.stop();
  return 0;
}
