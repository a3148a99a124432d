import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { shutdownTelemetry } from '../telemetry/index.ts';

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  /** Stops accepting connections and resolves once every in-flight request has finished. */
  stop: () => Promise<void>;
}

/** Keep-alive sockets idle longer than this are closed so `stop()` is not held hostage. */
const DRAIN_POLL_MS = 50;
const DRAIN_DEADLINE_MS = 10_000;

/** Listens on `port` (0 picks a free one, as tests do) and returns the bound address. */
export async function start(
  app: Express,
  port: number,
  host = '127.0.0.1',
): Promise<RunningServer> {
  const server = app.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const bound = (server.address() as AddressInfo).port;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= new Promise<void>((resolve, reject) => {
      // close() refuses new connections at once and calls back when the last one ends.
      server.close((error) => {
        clearInterval(drain);
        clearTimeout(deadline);
        if (error) reject(error);
        else resolve();
      });
      // A request in flight finishes normally; only idle keep-alive sockets are cut.
      const drain = setInterval(() => {
        server.closeIdleConnections();
      }, DRAIN_POLL_MS);
      const deadline = setTimeout(() => {
        server.closeAllConnections();
      }, DRAIN_DEADLINE_MS);
      server.closeIdleConnections();
    }));
  const url = `http://${host}:${bound}`;
  announceListening(url);
  return { server, port: bound, url, stop };
}

/**
 * Tells the process that spawned this service (the test kit, `pnpm lab <lab> up`) where it
 * listens, over the IPC channel rather than the log: a service started with LOG_LEVEL=warn,
 * or with another log format, must be just as easy to find. Only when the spawner asked for it
 * (LAB_ANNOUNCE_LISTENING=ipc), so a process that merely has an IPC channel (a vitest worker)
 * gets no message it does not expect.
 */
function announceListening(url: string): void {
  if (process.env.LAB_ANNOUNCE_LISTENING !== 'ipc' || !process.send) return;
  // A callback, so a spawner that is already gone is no error here: exit-with-parent acts on it.
  process.send({ type: 'listening', url }, () => undefined);
  // The channel carried its one message; it must never keep a finished service alive.
  process.channel?.unref();
}

export type ShutdownHook = () => Promise<unknown>;

/**
 * SIGTERM/SIGINT: stop accepting, let in-flight requests finish, then run the hooks (stop
 * consumers, close pools) in order, flush spans and exit 0. Committed data never depends on
 * this running: a SIGKILL at any instant must lose nothing, which each lab's tests prove.
 */
export function onShutdown(
  logger: Logger,
  servers: RunningServer[],
  hooks: ShutdownHook[] = [],
): void {
  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    let code = 0;
    try {
      await Promise.all(servers.map((running) => running.stop()));
      for (const hook of hooks) await hook();
      await shutdownTelemetry();
    } catch (error) {
      logger.error({ err: error }, 'shutdown did not complete cleanly');
      code = 1;
    }
    logger.info('stopped');
    logger.flush();
    process.exit(code);
  };
  // Kept for good: a second signal while draining (Ctrl-C reaches the whole group, then the lab
  // stopping its services sends SIGTERM) is absorbed instead of killing the drain halfway.
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
