/** `pnpm lab saga up`: the five services on the ports in the root README, logs prefixed by service, until Ctrl-C. */
import { defaultDatabases, startSagaLab } from '../services.ts';

export async function up(): Promise<number> {
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
