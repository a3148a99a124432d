import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';

/** Where `pnpm infra:local up` runs Zipkin's span collector. */
export const DEFAULT_ZIPKIN_ENDPOINT = 'http://127.0.0.1:9411/api/v2/spans';

/** The collector URL spans are POSTed to: ZIPKIN_ENDPOINT, else the `pnpm infra:local` one. */
export function zipkinEndpoint(env = process.env): string {
  return env.ZIPKIN_ENDPOINT ?? DEFAULT_ZIPKIN_ENDPOINT;
}

/**
 * Whether a Zipkin server answers at the origin of `url` (its base URL or its span endpoint).
 * Zipkin's /health lists its storage under "zipkin", which tells it apart from other servers
 * that accept Zipkin spans on 9411 but have no Zipkin query API or UI. Never throws: an
 * unreachable or foreign server is simply `false`.
 */
export async function zipkinReachable(url = zipkinEndpoint(), timeoutMs = 1000): Promise<boolean> {
  // The probe is not part of any user action, so it must not show up as a span of one.
  return context.with(suppressTracing(context.active()), async () => {
    try {
      const res = await fetch(new URL('/health', url), { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) return false;
      const health = (await res.json()) as { zipkin?: unknown };
      return health.zipkin !== undefined;
    } catch {
      return false;
    }
  });
}
