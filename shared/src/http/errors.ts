/**
 * Errors are values with a stable code. Domain code throws AppError (or a subclass); the one
 * error handler in app.ts maps it to an RFC 9457 problem document. Anything else that
 * escapes a handler is a bug and becomes an opaque 500.
 */
export interface FieldIssue {
  /** Where the problem is, e.g. `body.lines.0.quantity` or `headers.idempotency-key`. */
  path: string;
  message: string;
  code: string;
}

export class AppError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly errors: readonly FieldIssue[] | undefined;
  readonly extensions: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: string,
    httpStatus: number,
    message: string,
    options: {
      errors?: readonly FieldIssue[];
      extensions?: Record<string, unknown>;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.httpStatus = httpStatus;
    this.errors = options.errors;
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }
}

export const problems = {
  /**
   * Fields that failed their schema, each named. As a 404 (an id that cannot name anything,
   * answered as an unknown id is) the code is `not-found`, so a client that goes by
   * the code sees one answer for both; `errors` still says which field could not be an id.
   */
  validation: (errors: readonly FieldIssue[], status = 400) =>
    status === 404
      ? new AppError(
          'not-found',
          404,
          // Named from the issues, not assumed: the field that cannot be an id may be a path
          // parameter or a query parameter.
          `Nothing was found: ${[...new Set(errors.map((e) => e.path))].join(', ')} cannot name anything.`,
          { errors },
        )
      : new AppError('validation-failed', status, 'The request is not valid.', { errors }),
  notFound: (what: string) => new AppError('not-found', 404, `${what} was not found.`),
  conflict: (code: string, message: string, extensions?: Record<string, unknown>) =>
    new AppError(code, 409, message, { extensions }),
  unavailable: (code: string, message: string, retryAfterSeconds: number) =>
    new AppError(code, 503, message, { headers: { 'Retry-After': String(retryAfterSeconds) } }),
};

export const PROBLEM_TYPE_BASE = 'urn:lab:problem:';

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  traceId?: string;
  errors?: readonly FieldIssue[];
  [extension: string]: unknown;
}

/**
 * Is this error a dependency that cannot be reached right now (PostgreSQL, Redis or Kafka
 * down, restarting, refusing connections), as opposed to a bug or a request the dependency
 * rejected? Only the first is a 503: a client that retries later will succeed. A query that
 * PostgreSQL refused (a constraint, a data error) fails the same way on every retry, so it
 * must never be reported as "unavailable".
 */
export function isDependencyUnavailable(error: unknown): boolean {
  return inCauseChain(error, (link) => {
    const { code, name, message, type, retriable } = link as {
      code?: unknown;
      name?: unknown;
      message?: unknown;
      type?: unknown;
      retriable?: unknown;
    };
    // Sockets: refused, reset, timed out, broken pipe, host unreachable.
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    // PostgreSQL SQLSTATE class 08 (connection exception) and 57P01-03 (shutting down,
    // crash recovery, not accepting connections yet); 53300 too many connections.
    if (
      typeof code === 'string' &&
      (code.startsWith('08') || /^57P0[123]$/.test(code) || code === '53300')
    )
      return true;
    if (typeof name === 'string' && UNAVAILABLE_NAMES.has(name)) return true;
    // kafkajs: the broker answered, but only to say it cannot serve this now (a partition
    // without a leader, a coordinator still loading) as it does while restarting. kafkajs marks
    // each protocol error (and its subclasses, such as a KafkaJSCreateTopicError in a
    // KafkaJSAggregateError) `retriable` from the broker's error code; a request the broker
    // rejects for good (a bad topic config, an invalid partition count) is not retriable.
    if (
      typeof name === 'string' &&
      name.startsWith('KafkaJS') &&
      typeof type === 'string' &&
      (retriable === true || UNAVAILABLE_KAFKA_TYPES.has(type))
    )
      return true;
    return typeof message === 'string' && UNAVAILABLE_MESSAGES.some((p) => p.test(message));
  });
}

/**
 * Did the error come from a connection that was never made (refused, no route, no such host,
 * the connect itself timed out)? Narrower than `isDependencyUnavailable`: a connection reset
 * mid-call did reach the dependency, so what became of the call is unknown.
 */
export function neverConnected(error: unknown): boolean {
  return inCauseChain(error, (link) => {
    const { code } = link as { code?: unknown };
    return typeof code === 'string' && NEVER_CONNECTED_CODES.has(code);
  });
}

/**
 * True when `test` holds for the error or one of its causes (five deep), or for every error
 * of one Node bundled: a host with several addresses (localhost: ::1 and 127.0.0.1) failing
 * on each comes as one error holding them all.
 */
function inCauseChain(error: unknown, test: (link: object) => boolean): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current !== 'object') return false;
    if (test(current)) return true;
    const { errors, cause } = current as { errors?: unknown; cause?: unknown };
    if (
      Array.isArray(errors) &&
      errors.length > 0 &&
      errors.every((each) => inCauseChain(each, test))
    )
      return true;
    current = cause;
  }
  return false;
}

const NEVER_CONNECTED_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  // undici: no answer to the connect itself.
  'UND_ERR_CONNECT_TIMEOUT',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
]);

// Errors the drivers raise by class name when the connection, not the request, failed.
const UNAVAILABLE_NAMES = new Set([
  // ioredis: commands given up on while reconnecting.
  'MaxRetriesPerRequestError',
  // kafkajs: broker unreachable or gone.
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSGroupCoordinatorNotFound',
  // kafkajs: a wait on the broker ran out (createTopics waiting for the new topics' leaders, a
  // broker's lock while its connection is being set up). kafkajs calls both non-retriable,
  // as its own retries are over; the next request may well succeed.
  'KafkaJSTimeout',
  'KafkaJSLockTimeout',
  // @lab/shared/pg: the pool's breaker is open, PostgreSQL stopped answering.
  'PostgresNotAnswering',
]);

// The broker's "not now" answers, recognised by name too, whatever `retriable` says.
const UNAVAILABLE_KAFKA_TYPES = new Set([
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
  'GROUP_LOAD_IN_PROGRESS',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR_FOR_GROUP',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
]);

// pg and ioredis report some connection losses, and Redis its "not now" replies, only in
// their message.
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/, // pg: server closed the connection (restart, crash)
  /^Query read timeout$/, // pg: no answer within query_timeout (server frozen, packets dropped)
  /^timeout exceeded when trying to connect/, // pg pool: no connection within connectionTimeoutMillis
  /Client has encountered a connection error and is not queryable/, // pg: client lost its socket
  /^Connection is closed\.?$/, // ioredis
  /^Command timed out$/, // ioredis: no reply within commandTimeout (server frozen, packets dropped)
  /enableOfflineQueue options is false/, // ioredis: disconnected, command refused at once
  /^the database system is (starting up|shutting down|in recovery mode)/,
  // Redis replies that mean "not now": loading its dataset after a restart, a replica that
  // lost its primary, a cluster mid-failover.
  /^(LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN) /,
  // kafkajs: a plain Error from a request to a broker whose connection never completed (it
  // is frozen, or went away while the client still knew it).
  /^Broker not connected$/,
];

/** The 503 for an unreachable dependency: the client should come back after `retryAfterSeconds`. */
export const dependencyUnavailable = (cause: unknown, retryAfterSeconds = 2) =>
  new AppError(
    'dependency-unavailable',
    503,
    'A dependency of this service is unreachable; retry later.',
    { headers: { 'Retry-After': String(retryAfterSeconds) }, cause },
  );
