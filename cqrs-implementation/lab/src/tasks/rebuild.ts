import { projectorClient } from '../client.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);

/**
 * `pnpm lab cqrs rebuild [--force]`: asks the projector (PROJECTOR_URL, the one `up` starts
 * on 3104 by default) to rebuild every read model into a new generation from the event log
 * while the live one keeps answering, then switch readers over. The rebuild itself lives in
 * the projector: projector/src/domain/rebuild-read-model.ts.
 */
export async function rebuild(args: string[]): Promise<number> {
  const url = process.env.PROJECTOR_URL ?? 'http://127.0.0.1:3104';
  say(`asking the projector at ${url} to rebuild the read models (the live ones keep answering)`);
  const reply = await projectorClient(url)
    .rebuild({ force: args.includes('--force') })
    .catch((error: unknown) => {
      throw new Error(
        `no projector answers at ${url} (${String(error)}); start the lab with pnpm lab cqrs up`,
      );
    });
  if (reply.status !== 200) {
    const problem = reply.body as unknown as { code?: string; detail?: string; title?: string };
    say(
      `rebuild refused (${reply.status} ${problem.code ?? ''}): ${problem.detail ?? problem.title ?? ''}`,
    );
    return 1;
  }
  const result = reply.body;
  say(
    `rebuilt ${result.products} products and ${result.orders} orders: ${result.from} -> ${result.to}`,
  );
  return 0;
}
