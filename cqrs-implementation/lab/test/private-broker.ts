import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafka } from '@lab/shared/kafka';
import { createLogger } from '@lab/shared/logging';
import { forgetLeftover, freePort, rememberLeftover } from '@lab/shared/testkit';
import { waitFor } from './wait.ts';
import { LAB_DIR } from '../src/services.ts';

const KAFKA_LIB = join(LAB_DIR, '..', '.infra', 'kafka', 'lib');

/** The broker process ended before it answered: most often a port taken in the meantime. */
class BrokerExitedEarly extends Error {}

/**
 * A Kafka broker of this test file's own, from the same jars as `pnpm infra:local`, on free
 * ports and a temporary data dir: a fault test may kill it without touching the shared broker
 * other test files use.
 */
export async function startPrivateBroker(): ReturnType<typeof attemptPrivateBroker> {
  // A port is free when picked, but the JVM binds it seconds later, and on a busy machine any
  // outgoing connection may be given it as its local port first: the broker then exits at once.
  // That start is thrown away whole (its directory, its format) and tried on fresh ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptPrivateBroker();
    } catch (error) {
      if (!(error instanceof BrokerExitedEarly) || attempt === 3) throw error;
    }
  }
}

async function attemptPrivateBroker() {
  const dir = mkdtempSync(join(tmpdir(), 'cqrs-kafka-'));
  // Killed, the test cannot delete it; the watcher of @lab/shared/testkit's leftovers does.
  const dirLeftover = rememberLeftover({ remove: dir });
  const [port, controller] = [await freePort(), await freePort()];
  const props = join(dir, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=127.0.0.1:${controller}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'group.min.session.timeout.ms=1000',
      'auto.create.topics.enable=false',
      'num.partitions=3',
      '',
    ].join('\n'),
  );
  const log4j = join(dir, 'log4j2.properties');
  writeFileSync(
    log4j,
    [
      'status = warn',
      'appender.file.type = File',
      'appender.file.name = file',
      `appender.file.fileName = ${join(dir, 'server.log')}`,
      'appender.file.layout.type = PatternLayout',
      'appender.file.layout.pattern = [%d] %p %m (%c)%n',
      'rootLogger.level = warn',
      'rootLogger.appenderRef.file.ref = file',
      '',
    ].join('\n'),
  );
  // Never starting with '-', as Kafka's own ids (Uuid.randomUuid) never do: the storage tool's
  // argument parser would take it for an option, and one format in 64 would fail.
  let clusterId: string;
  do clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-'));
  const format = spawnSync(
    'java',
    [
      `-Dlog4j2.configurationFile=${log4j}`,
      '-cp',
      `${KAFKA_LIB}/*`,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      props,
      '--standalone',
    ],
    { encoding: 'utf8' },
  );
  if (format.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    forgetLeftover(dirLeftover);
    throw new Error(`formatting the private broker failed: ${format.stderr}`);
  }

  const brokers = `127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let brokerLeftover: number | undefined;
  const killOnExit = () => {
    child?.kill('SIGKILL');
    // Killed here: a pid left listed could belong to another process by the time it is read.
    forgetLeftover(brokerLeftover);
  };
  process.once('exit', killOnExit);

  const start = async () => {
    child = spawn(
      'java',
      [
        '-Xms128m',
        '-Xmx384m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        `-Dlog4j2.configurationFile=${log4j}`,
        '-cp',
        `${KAFKA_LIB}/*`,
        'kafka.Kafka',
        props,
      ],
      { stdio: 'ignore' },
    );
    forgetLeftover(brokerLeftover);
    if (child.pid !== undefined) brokerLeftover = rememberLeftover({ kill: child.pid });
    let exited: string | undefined;
    child.once('exit', (code, signal) => {
      exited = signal ?? `code ${String(code)}`;
    });
    const kafka = createKafka('private-broker-probe', [brokers], createLogger('probe', 'silent'));
    const admin = kafka.admin();
    try {
      await waitFor(
        `the private broker on ${brokers}`,
        async () => {
          // A broker that is gone will not answer: stop polling and say why below.
          if (exited !== undefined) return true;
          await admin.connect();
          await admin.listTopics();
          return true;
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
    } finally {
      await admin.disconnect();
    }
    if (exited !== undefined) {
      let log: string;
      try {
        log = readFileSync(join(dir, 'server.log'), 'utf8')
          .trim()
          .split('\n')
          .slice(-15)
          .join('\n');
      } catch {
        log = '(no log)';
      }
      throw new BrokerExitedEarly(
        `the private broker on ${brokers} exited (${exited}) before it answered; its log ends:\n${log}`,
      );
    }
  };

  const stop = async (signal: 'SIGKILL' | 'SIGTERM') => {
    const running = child;
    // Gone already: an exit code, or (killed) a signal, and its 'exit' event is past.
    if (running?.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await exited;
    forgetLeftover(brokerLeftover);
  };

  const destroy = async () => {
    await stop('SIGKILL');
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
    forgetLeftover(dirLeftover);
  };

  // A broker that never came up leaves neither a process nor its data dir behind.
  await start().catch(async (error: unknown) => {
    await destroy();
    throw error;
  });
  return {
    brokers,
    /** Same data dir, same ports: the broker comes back with every topic and committed offset. */
    restart: start,
    stop,
    destroy,
  };
}
