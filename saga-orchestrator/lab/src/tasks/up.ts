/**
 * `pnpm lab saga up`: the five services on the ports in the root README, logs prefixed by
 * service, until Ctrl-C. `--monolith`: the same public API from one modular monolith instead.
 */
import { defaultDatabases, startSagaLab, startSagaMonolith } from '../services.ts';

export async function up(args: readonly string[] = []): Promise<number> {
  if (args.includes('--monolith')) return upMonolith();
  const lab = await startSagaLab({
    databases: defaultDatabases(),
    ports: 'design',
    echo: true,
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
  });
  process.stdout.write(
    `\nSaga lab up: orchestrator ${lab.urls.orchestrator}, flights ${lab.urls.flights}, hotels ${lab.urls.hotels}, cars ${lab.urls.cars}, payments ${lab.urls.payments}\nCtrl-C stops it.\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await lab.stop();
  return 0;
}

async function upMonolith(): Promise<number> {
  const monolith = await startSagaMonolith({
    database: 'saga_monolith',
    ports: 'design',
    echo: true,
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
  });
  process.stdout.write(
    `\nSaga monolith up: trips ${monolith.urls.orchestrator}/trips, admin ${monolith.urls.flights}/inventory, ${monolith.urls.payments}/cards ...\nCtrl-C stops it.\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await monolith.stop();
  return 0;
}
