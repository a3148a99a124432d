import { z } from 'zod';
import { env, loadConfig } from '@lab/shared/config';
import { ACTION_WITHIN_MS } from './labs/http.ts';

/**
 * Where the console finds each lab: their public base URLs, the design ports on 127.0.0.1 by
 * default (compose sets the service names). The console only speaks HTTP to them.
 */
const schema = z.object({
  PORT: env.port(3000),
  HOST: env.host(),
  LOG_LEVEL: env.logLevel(),
  CONSOLE_RESILIENCE_GATEWAY_URL: env.url('http://127.0.0.1:3301'),
  CONSOLE_RESILIENCE_SUPPLIER_URL: env.url('http://127.0.0.1:3302'),
  CONSOLE_SAGA_ORCHESTRATOR_URL: env.url('http://127.0.0.1:3201'),
  CONSOLE_SAGA_FLIGHTS_URL: env.url('http://127.0.0.1:3202'),
  CONSOLE_SAGA_HOTELS_URL: env.url('http://127.0.0.1:3203'),
  CONSOLE_SAGA_CARS_URL: env.url('http://127.0.0.1:3204'),
  CONSOLE_SAGA_PAYMENTS_URL: env.url('http://127.0.0.1:3205'),
  CONSOLE_CQRS_COMMAND_URL: env.url('http://127.0.0.1:3101'),
  CONSOLE_CQRS_QUERY_URL: env.url('http://127.0.0.1:3102'),
  CONSOLE_CQRS_RELAY_URL: env.url('http://127.0.0.1:3103'),
  CONSOLE_CQRS_PROJECTOR_URL: env.url('http://127.0.0.1:3104'),
  /** A trace's page in the trace UI; `{traceId}` is replaced. Zipkin locally, Jaeger under compose. */
  CONSOLE_TRACE_URL: z
    .string()
    .regex(/^https?:\/\/.*\{traceId\}/, 'expected an http(s) URL containing {traceId}')
    .default('http://127.0.0.1:9411/zipkin/traces/{traceId}'),
  /** How often the labs are polled and the page updated while a page (or an API client) watches. */
  CONSOLE_POLL_MS: z.coerce.number().int().min(100).max(5000).default(500),
  /**
   * How long an action (a button: place an order, inject a fault) waits for the lab's answer
   * before the console answers 504; the lab may still carry it out afterwards.
   */
  CONSOLE_ACTION_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(120_000)
    .default(ACTION_WITHIN_MS),
  /** How often while nobody watches: the history keeps growing, at a fraction of the cost. */
  CONSOLE_IDLE_POLL_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
});

export type ConsoleConfig = z.infer<typeof schema>;

export const loadConsoleConfig = (source: Record<string, string | undefined> = process.env) =>
  loadConfig('console', schema, source);
