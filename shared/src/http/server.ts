import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { shutdownTelemetry } from '../telemetry/index.ts';
import { PROBLEM_TYPE_BASE, type ProblemDocument } from './errors.ts';

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  /** Stops accepting connections and resolves once every in-flight request has finished. */
  stop: () => Promise<void>;
}

/** How often, while stopping, idle keep-alive sockets are closed so `stop()` is not held hostage. */
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
  }).catch((error: unknown) => {
    // A port another process holds (a second `pnpm lab <lab> up`, another program) is a setting
    // to change, not a crash: one line naming it, as a bad setting gets, never a stack trace.
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    process.stderr.write(
      `Cannot listen on ${host}:${port}: the port is already in use. Stop what listens there, or set PORT.\n`,
    );
    process.exit(1);
  });
  server.on('clientError', answerParserError);
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

/** What Node's HTTP parser refuses, by its error code, before any route could see it. */
const PARSER_REFUSALS: Record<
  string,
  [status: number, title: string, code: string, detail: string]
> = {
  HPE_HEADER_OVERFLOW: [
    431,
    'Request Header Fields Too Large',
    'headers-too-large',
    'The request line and headers are larger than this service accepts.',
  ],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [
    413,
    'Content Too Large',
    'chunk-extensions-too-large',
    'The chunk extensions are larger than this service accepts.',
  ],
  ERR_HTTP_REQUEST_TIMEOUT: [
    408,
    'Request Timeout',
    'request-timeout',
    'The request did not arrive in time.',
  ],
};

/**
 * A request Node's HTTP parser refuses (headers over the limit, a method it does not know, a
 * malformed Content-Length) never reaches Express. Node would answer it with a bare status
 * line; this answers it as every other bad request is answered, with a problem document, then
 * closes the connection, whose byte stream can no longer be trusted.
 */
function answerParserError(error: Error & { code?: string }, socket: Socket): void {
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  // A reset peer hears nothing, and a response already under way must not be corrupted.
  if (error.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
    const [status, title, code, detail] = PARSER_REFUSALS[error.code ?? ''] ?? [
      400,
      'Bad Request',
      'malformed-request',
      'The request is not valid HTTP/1.1.',
    ];
    const problem: ProblemDocument = {
      type: `${PROBLEM_TYPE_BASE}${code}`,
      title,
      status,
      detail,
      code,
    };
    const body = JSON.stringify(problem);
    socket.write(
      `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
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
