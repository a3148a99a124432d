import { createApp } from '@lab/shared/http';
import type { Logger } from '@lab/shared/logging';
import type { Console } from './console.ts';
import { consoleRoutes } from './entry-points/api/console.routes.ts';
import { webRoutes } from './entry-points/web.routes.ts';

export function createConsoleApp(console: Console, logger: Logger) {
  return createApp({
    service: 'console',
    logger,
    routes: (app) => {
      consoleRoutes(app, console);
      webRoutes(app);
    },
  });
}
