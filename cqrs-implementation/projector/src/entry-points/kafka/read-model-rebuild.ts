import { dependencyUnavailable } from '@lab/shared/errors';
import type { Kafka } from '@lab/shared/kafka';
import type { Logger } from '@lab/shared/logging';
import type { ReadModelRepository } from '../../data-access/read-model.repository.ts';
import { EventLogTrimmed, type RebuildSteps } from '../../domain/rebuild-read-model.ts';
import { eventLogEnds, replayEventLog } from './event-log-replay.ts';

export interface RebuildStepsOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  store: ReadModelRepository;
  logger: Logger;
  stopped: () => boolean;
  /** Chaos knob: a pause between replayed events, so a rebuild's window can be watched. */
  pauseMs: number;
}

/**
 * A rebuild's replay that received nothing for this long gives up: the broker went away
 * mid-rebuild. The rebuild then fails as any failed step does (its announcement cleared, the
 * half-built generation dropped) and `POST /admin/rebuilds` answers 503 dependency-unavailable
 * instead of waiting for the broker with the `building` announcement up.
 */
export const REBUILD_STALL_MS = 30_000;

/** The steps of a rebuild on this projector's Redis store and event log. */
export function createRebuildSteps(options: RebuildStepsOptions): RebuildSteps {
  const { kafka, topic, store, logger } = options;
  return {
    liveGeneration: store.liveGeneration,
    buildingGeneration: store.buildingGeneration,
    announce: store.announceBuilding,
    clearAnnouncement: store.clearBuilding,
    replayInto: async (generation) => {
      const { until, trimmed } = await eventLogEnds(kafka, topic);
      if (trimmed.length > 0) throw new EventLogTrimmed(trimmed);
      logger.info({ generation, until: Object.fromEntries(until) }, 'replaying the event log');
      const { ok, events, stalled } = await replayEventLog({
        kafka,
        topic,
        groupId: options.groupId,
        until,
        apply: (update) => store.apply(update, generation),
        stopped: options.stopped,
        pauseMs: options.pauseMs,
        stallMs: REBUILD_STALL_MS,
      });
      if (stalled)
        throw dependencyUnavailable(
          new Error(
            `the event log sent nothing for ${REBUILD_STALL_MS} ms: the replay into ${generation} gave up after ${events} events`,
          ),
        );
      if (!ok) throw new Error(`the replay into ${generation} ended early (${events} events)`);
      logger.info({ generation, events }, 'event log replayed');
    },
    pointReadersAt: store.setLiveGeneration,
    switchTo: store.switchGeneration,
    drop: store.dropGeneration,
    count: store.countViews,
  };
}
