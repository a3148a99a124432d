import { z } from 'zod';

/**
 * Settings are read once, at start, through a zod schema. A service that starts with a bad
 * value fails later in a confusing place (a NaN port, an undefined URL inside a driver), so a
 * bad or missing variable stops the process here with one message naming every problem.
 */
export class ConfigError extends Error {
  readonly issues: readonly string[];
  constructor(service: string, issues: readonly string[]) {
    super(`Invalid configuration for ${service}:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

type Env = Record<string, string | undefined>;

export function parseConfig<S extends z.ZodType>(service: string, schema: S, env: Env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const value = typeof issue.path[0] === 'string' ? env[issue.path[0]] : undefined;
    const got = value === undefined ? 'it is not set' : `got ${JSON.stringify(value)}`;
    return `${name}: ${issue.message} (${got})`;
  });
  throw new ConfigError(service, issues);
}

/** Parses the environment or exits with status 1 and a readable message, never a stack trace. */
export function loadConfig<S extends z.ZodType>(
  service: string,
  schema: S,
  env: Env = process.env,
): z.infer<S> {
  try {
    return parseConfig(service, schema, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

/** pino's levels: what LOG_LEVEL may be (`pnpm lab` forgives other spellings, a service does not). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

// Building blocks for each service's schema; the defaults match `pnpm infra:local`.
export const env = {
  /** 127.0.0.1 by default; containers set HOST=0.0.0.0 so other containers can connect. */
  host: () => z.string().min(1).default('127.0.0.1'),
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  url: (fallback: string) => z.url().default(fallback),
  databaseUrl: () =>
    z.url({ protocol: /^postgres(ql)?$/ }).default('postgres://postgres@127.0.0.1:5432/postgres'),
  redisUrl: () => z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  kafkaBrokers: () =>
    z
      .string()
      .default('127.0.0.1:9092')
      .transform((value) => value.split(',').map((broker) => broker.trim()))
      .pipe(z.array(z.string().regex(/^[\w.-]+:\d+$/, 'expected host:port[,host:port]')).min(1)),
  flag: () =>
    z
      .enum(['0', '1', 'true', 'false'])
      .default('0')
      .transform((value) => value === '1' || value === 'true'),
  identifier: (fallback: string) =>
    z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,62}$/, 'expected a lowercase SQL identifier')
      .default(fallback),
  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  logLevel: () => z.enum(LOG_LEVELS).default('info'),
};
