import type { Express } from 'express';
import { z } from 'zod';
import { AppError, parse, problems } from '@lab/shared/http';
import {
  EventLogTrimmed,
  RebuildInProgress,
  type RebuildOptions,
  type RebuildResult,
} from '../../domain/rebuild-read-model.ts';

const RebuildRequest = z.strictObject({ force: z.boolean().default(false) });

/**
 * The projector's operator API. `POST /admin/rebuilds` rebuilds every read model into a new
 * generation from the event log and answers when readers have switched to it
 * (`pnpm lab cqrs rebuild` calls it).
 */
export function adminRoutes(
  app: Express,
  rebuild: (options: RebuildOptions) => Promise<RebuildResult>,
): void {
  app.post('/admin/rebuilds', async (req, res) => {
    const { force } = parse(req, 'body', RebuildRequest);
    try {
      res.json(await rebuild({ force }));
    } catch (error) {
      if (error instanceof RebuildInProgress)
        throw problems.conflict('rebuild-in-progress', error.message, {
          building: error.building,
        });
      if (error instanceof EventLogTrimmed)
        throw new AppError('event-log-trimmed', 409, error.message, {
          extensions: { partitions: error.partitions },
        });
      throw error;
    }
  });
}
