import express, {
  type ErrorRequestHandler,
  type Express,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { context, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { httpRequestDuration, registry } from '../metrics.ts';
import {
  AppError,
  dependencyUnavailable,
  isDependencyUnavailable,
  PROBLEM_TYPE_BASE,
  problems,
  type ProblemDocument,
} from './errors.ts';
import { takesNothing } from './validate.ts';

export type ReadinessCheck = () => Promise<unknown>;

export interface AppOptions {
  service: string;
  logger: Logger;
  /** Largest accepted JSON body; larger ones get 413 before any handler runs. */
  bodyLimit?: string;
  /** Dependencies that must answer for GET /readyz to say 200, by name. */
  readiness?: Record<string, ReadinessCheck>;
  routes: (app: Express) => void;
}

const READINESS_TIMEOUT_MS = 1000;
const TITLES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  // Not in RFC 9110: nginx's name for a request whose client closed the connection first.
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function traceIdOf(headers: Record<string, unknown>): string | undefined {
  const active = trace.getSpan(context.active())?.spanContext().traceId;
  if (active && !/^0+$/.test(active)) return active;
  // Without telemetry (a bare unit test) the caller's traceparent still links the answer.
  const parent = typeof headers.traceparent === 'string' ? headers.traceparent : '';
  return /^[\da-f]{2}-([\da-f]{32})-/.exec(parent)?.[1];
}

/** Body-parser and Express errors carry `type`/`status`; map the ones a client can cause. */
function fromFrameworkError(error: unknown, req: Request): AppError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { type, status, errno } = error as { type?: unknown; status?: unknown; errno?: unknown };
  switch (type) {
    case 'entity.parse.failed':
      return new AppError('malformed-json', 400, 'The request body is not valid JSON.', {
        errors: [{ path: 'body', message: 'not valid JSON', code: 'invalid_json' }],
      });
    case 'entity.too.large':
      return new AppError(
        'body-too-large',
        413,
        'The request body is larger than this service accepts.',
      );
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError(
        'unsupported-encoding',
        415,
        'The request body encoding is not supported.',
      );
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new AppError('bad-request', 400, 'The request body could not be read.');
  }
  // The body-parser decompresses what `Content-Encoding` announces before it parses; zlib's
  // own error (an `errno`, no `type`) means the bytes are not what the header says they are.
  if (typeof errno === 'number' && status === 400) {
    const encoding = String(req.headers['content-encoding']);
    return new AppError(
      'malformed-body',
      400,
      `The request body is not valid ${encoding} data, as its Content-Encoding says.`,
      {
        errors: [{ path: 'body', message: `not valid ${encoding} data`, code: 'invalid_encoding' }],
      },
    );
  }
  // The router could not percent-decode a path parameter (`/trips/%E0%A4%A`); it does not say
  // which one, so the problem names the path's parameters as a whole.
  if (error instanceof URIError && status === 400) {
    return problems.validation([
      { path: 'params', message: 'not valid percent-encoding', code: 'invalid_format' },
    ]);
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new AppError('bad-request', status, 'The request could not be processed.');
  }
  return undefined;
}

const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * The duration histogram's children by method, route and status: prom-client works out a
 * label set's identity on every `labels()` call, and a service answers a handful of distinct
 * label sets millions of times.
 */
const durationByLabels = new Map<string, ReturnType<typeof httpRequestDuration.labels>>();

function observeDuration(req: Request, res: Response, started: number): void {
  // The route template, not the URL, so ids do not explode the label set.
  const route = `${req.baseUrl}${(req.route as { path?: string } | undefined)?.path ?? 'unmatched'}`;
  const key = `${req.method} ${route} ${res.statusCode}`;
  let child = durationByLabels.get(key);
  if (!child) {
    child = httpRequestDuration.labels({
      method: req.method,
      route,
      status: String(res.statusCode),
    });
    durationByLabels.set(key, child);
  }
  child.observe((performance.now() - started) / 1000);
}

/**
 * What every request goes through before its route, as one middleware rather than three
 * (each Express layer is a dispatch per request): its duration is recorded when it finishes,
 * and a body, if there is one, must be JSON and is parsed. A request that announces no body
 * (no length, no transfer encoding), which is every read, skips the type check and the parser.
 */
function beforeRoutes(bodyLimit: string): RequestHandler {
  // Not strict: `null`, `"x"` and `5` are valid JSON, so they reach the route's schema and are
  // refused there naming `body`, instead of being called malformed.
  const parseJson: RequestHandler = express.json({
    limit: bodyLimit,
    type: JSON_TYPES,
    strict: false,
  });
  return (req, res, next) => {
    const started = performance.now();
    res.once('finish', () => {
      observeDuration(req, res, started);
    });
    const encoding = req.headers['transfer-encoding'];
    const length = req.headers['content-length'];
    if (encoding === undefined && length === undefined) {
      next();
      return;
    }
    if ((encoding !== undefined || Number(length) > 0) && !req.is(JSON_TYPES)) {
      next(new AppError('unsupported-media-type', 415, 'Send the body as application/json.'));
      return;
    }
    parseJson(req, res, next);
  };
}

/** A route as Express 5's router keeps it: the only part of its stack this module reads. */
interface RouteLayer {
  route?: { methods: Record<string, boolean> };
  match: (path: string) => unknown;
}

/**
 * The methods the app's routes take on `path`, upper case (HEAD wherever GET is, as Express
 * answers it): empty when no route matches the path. Read from the router's stack, so a route
 * added anywhere is counted without a list kept beside it; only a request that matched no
 * route pays for the walk.
 */
function methodsAllowed(app: Express, path: string): string[] {
  const stack = (app as unknown as { router: { stack: RouteLayer[] } }).router.stack;
  const methods = new Set<string>();
  for (const layer of stack) {
    if (!layer.route || !layer.match(path)) continue;
    for (const [method, on] of Object.entries(layer.route.methods)) {
      if (!on || method === '_all') continue;
      methods.add(method.toUpperCase());
      if (method === 'get') methods.add('HEAD');
    }
  }
  return [...methods].sort();
}

/**
 * An Express app with the behaviour every lab service shares: problem+json errors (404 for a
 * path no route has, 405 with Allow for a method its routes do not take), a body limit,
 * JSON-only bodies, health, readiness and metrics. Services add only their routes.
 */
export function createApp(options: AppOptions): Express {
  const { logger, readiness = {} } = options;
  const app = express();
  app.disable('x-powered-by');
  // No client of these APIs revalidates with If-None-Match, so Express's default weak ETag, a
  // SHA-1 of every answer's body (and a Buffer copy of it), would be spent on nothing.
  app.set('etag', false);
  app.set('query parser', 'simple');

  // The probes take nothing: a query is refused, naming it, as on every route whose path says
  // everything, rather than ignored by a caller that believed it asked for something.
  app.get('/healthz', (req, res) => {
    takesNothing(req);
    res.json({ status: 'alive', service: options.service });
  });
  app.get('/readyz', async (req, res) => {
    takesNothing(req);
    const checks = await Promise.all(
      Object.entries(readiness).map(async ([name, check]) => {
        try {
          await Promise.race([
            check(),
            new Promise((_, reject) =>
              setTimeout(() => {
                reject(new Error('timed out'));
              }, READINESS_TIMEOUT_MS).unref(),
            ),
          ]);
          return [name, 'up'] as const;
        } catch (error) {
          return [name, `down: ${(error as Error).message}`] as const;
        }
      }),
    );
    const ready = checks.every(([, state]) => state === 'up');
    // Not ready is a dependency away, as every 503 here is: the same Retry-After tells a load
    // balancer or a script when to look again.
    if (!ready) res.setHeader('Retry-After', '1');
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : 'not-ready', checks: Object.fromEntries(checks) });
  });
  app.get('/metrics', async (req, res) => {
    takesNothing(req);
    res.type(registry.contentType).send(await registry.metrics());
  });

  app.use(beforeRoutes(options.bodyLimit ?? '64kb'));

  options.routes(app);

  app.use((req, res, next) => {
    const allowed = methodsAllowed(app, req.path);
    if (allowed.length === 0) {
      next(new AppError('route-not-found', 404, `There is no route ${req.method} ${req.path}.`));
      return;
    }
    // The path exists, the method does not: RFC 9110 asks for 405 and the methods that work.
    res.set('Allow', allowed.join(', '));
    next(
      new AppError(
        'method-not-allowed',
        405,
        `${req.path} does not take ${req.method}; it takes ${allowed.join(', ')}.`,
      ),
    );
  });

  const problemHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    const known =
      error instanceof AppError
        ? error
        : (fromFrameworkError(error, req) ??
          // A database, cache or broker that went away is not a bug: 503 with Retry-After,
          // and the client's retry succeeds once it is back. Its message stays in the log.
          (isDependencyUnavailable(error) ? dependencyUnavailable(error) : undefined));
    const appError = known ?? new AppError('internal', 500, 'An unexpected error occurred.');
    if (!known) logger.error({ err: error, method: req.method, path: req.path }, 'unhandled error');
    else if (appError.httpStatus >= 500)
      logger.warn(
        { code: appError.code, path: req.path, err: appError.cause ?? undefined },
        appError.message,
      );

    const problem: ProblemDocument = {
      ...appError.extensions,
      type: `${PROBLEM_TYPE_BASE}${appError.code}`,
      title: TITLES[appError.httpStatus] ?? 'Error',
      status: appError.httpStatus,
      detail: appError.message,
      code: appError.code,
      instance: req.originalUrl,
      traceId: traceIdOf(req.headers),
      ...(appError.errors && { errors: appError.errors }),
    };
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res
      .set(appError.headers)
      .status(appError.httpStatus)
      .type('application/problem+json')
      .send(JSON.stringify(problem));
  };
  app.use(problemHandler);
  return app;
}
