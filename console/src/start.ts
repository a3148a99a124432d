/**
 * The lab console: one page for the three labs, a client of their public HTTP endpoints only.
 * `pnpm lab <lab> up` starts it on port 3000 (or reuses one that already answers there).
 *
 * Started without the telemetry register (`node src/start.ts`, here, in `pnpm lab` and in the
 * compose file): each action names its own trace in its `traceparent` so the page can link it,
 * and the register's fetch instrumentation would add a second `traceparent` beside it, which
 * the lab cannot parse, so it would start a trace of its own and the link would lead nowhere.
 */
import { onShutdown, start } from '@lab/shared/http';
import { createLogger } from '@lab/shared/logging';
import { createConsoleApp } from './app.ts';
import { loadConsoleConfig } from './config.ts';
import { createConsole } from './console.ts';

const config = loadConsoleConfig();
const logger = createLogger('console', config.LOG_LEVEL);
const console = createConsole(config, logger);
const server = await start(createConsoleApp(console, logger), config.PORT, config.HOST);
logger.info({ url: server.url }, 'listening');
// The console stops before the server does: a page's event stream is a response that stays
// open, and the server's drain would wait out its deadline for it.
onShutdown(logger, [
  {
    ...server,
    stop: () => {
      console.stop();
      return server.stop();
    },
  },
]);
