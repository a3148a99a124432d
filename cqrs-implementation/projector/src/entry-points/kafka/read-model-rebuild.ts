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
      const { ok, events } = await replayEventLog({
        kafka,
        topic,
        groupId: options.groupId,
        until,
        apply: (update) => store.apply(update, generation),
        stopped: options.stopped,
        pauseMs: options.pauseMs,
      });
      if (!ok) throw new Error(`the replay into ${generation} ended early (${events} events)`);
      logger.info({ generation, events }, 'event log replayed');
    },
    pointReadersAt: store.setLiveGeneration,
    switchTo: store.switchGeneration,
    drop: store.dropGeneration,
    count: store.countViews,
  };
}
