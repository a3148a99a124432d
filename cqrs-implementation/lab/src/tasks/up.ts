import { DEFAULT_PORTS, defaultNamespace, startStack } from '../services.ts';

/** `pnpm lab cqrs up`: the four services at their default ports (the ones the root README lists), logs prefixed, Ctrl-C stops them. */
export async function up(): Promise<number> {
  const stack = await startStack({
    ns: defaultNamespace(),
    ports: DEFAULT_PORTS,
    echo: true,
    logLevel: process.env.LOG_LEVEL ?? 'info',
  });
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
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stack.stop();
  return 0;
}
