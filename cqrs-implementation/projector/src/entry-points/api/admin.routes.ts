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
  buildingGeneration: () => Promise<string | null>,
): void {
  // The generation this projector is building now, if any. `force` discards a rebuild that
  // crashed half-way; the announcement alone cannot tell that one from a rebuild still
  // replaying here, and discarding a live one would drop keys under its feet while both
  // switch readers to the same half-deleted generation. So while one runs here, even a
  // forced request is refused.
  let running: Promise<RebuildResult> | undefined;
  app.post('/admin/rebuilds', async (req, res) => {
    const { force } = parse(req, 'body', RebuildRequest);
    if (running)
      throw problems.conflict(
        'rebuild-in-progress',
        'a rebuild is running in this projector; force discards only one that crashed',
        { building: await buildingGeneration() },
      );
    try {
      running = rebuild({ force });
      res.json(await running);
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
    } finally {
      running = undefined;
    }
  });
}
