/**
 * Loaded with `node --import @lab/shared/telemetry/register src/start.ts`, before the service's
 * own modules. Registering the import-in-the-middle hook first is what lets the
 * instrumentations patch Express, pg and ioredis when they are loaded from ES modules.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { register } from 'node:module';
import { startTelemetry } from './index.ts';

// OpenTelemetry's ESM support is built on this loader-thread hook; the synchronous
// module.registerHooks() that replaces it is not supported by the instrumentations yet.
// eslint-disable-next-line @typescript-eslint/no-deprecated
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

function serviceNameFromEntryPoint(): string {
  let dir = dirname(process.argv[1] ?? process.cwd());
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name) return pkg.name.replace(/^@[^/]+\//, '');
    } catch {
      // No package.json at this level; keep walking up.
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown-service';
    dir = parent;
  }
}

startTelemetry(process.env.OTEL_SERVICE_NAME ?? serviceNameFromEntryPoint());
