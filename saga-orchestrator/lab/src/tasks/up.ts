import { reportEarlyExits, startUnlessStopped, stopRequested } from '@lab/shared/testkit';
/**
 * `pnpm lab saga up`: the five services on the ports in the root README, logs prefixed by
 * service, until Ctrl-C. `--monolith`: the same public API from one modular monolith instead.
 */
import { defaultDatabases, startSagaLab, startSagaMonolith } from '../services.ts';

export async function up(args: readonly string[] = []): Promise<number> {
  if (args.includes('--monolith')) return upMonolith();
  // Before the start: a Ctrl-C while the lab starts stops it once it is up.
  const stopSignal = stopRequested();
  const lab = await startUnlessStopped(stopSignal, () =>
    startSagaLab({
      databases: defaultDatabases(),
      ports: 'design',
      echo: true,
      env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
    }),
  );
  // Stopped before it was up: the services got the signal too and the start undid itself.
  if (!lab) return 0;
  process.stdout.write(
    `\nSaga lab up: orchestrator ${lab.urls.orchestrator}, flights ${lab.urls.flights}, hotels ${lab.urls.hotels}, cars ${lab.urls.cars}, payments ${lab.urls.payments}\nCtrl-C stops it.\n`,
  );
  reportEarlyExits(
    lab.services,
    stopSignal,
    'Ctrl-C, then `pnpm lab saga up` (the saga log and the participants keep their databases; a restarted orchestrator resumes every unfinished trip)',
  );
  await stopSignal;
  await lab.stop();
  return 0;
}

async function upMonolith(): Promise<number> {
  // Before the start: a Ctrl-C while the lab starts stops it once it is up.
  const stopSignal = stopRequested();
  const monolith = await startUnlessStopped(stopSignal, () =>
    startSagaMonolith({
      database: 'saga_monolith',
      ports: 'design',
      echo: true,
      env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
    }),
  );
  // Stopped before it was up: the services got the signal too and the start undid itself.
  if (!monolith) return 0;
  process.stdout.write(
    `\nSaga monolith up: trips ${monolith.urls.orchestrator}/trips, admin ${monolith.urls.flights}/inventory, ${monolith.urls.payments}/cards ...\nCtrl-C stops it.\n`,
  );
  await stopSignal;
  await monolith.stop();
  return 0;
}
