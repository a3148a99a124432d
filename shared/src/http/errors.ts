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
  validation: (errors: readonly FieldIssue[], status = 400) =>
    new AppError('validation-failed', status, 'The request is not valid.', { errors }),
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
