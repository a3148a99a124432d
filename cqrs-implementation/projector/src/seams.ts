/**
 * What the lab's exercises may replace in the projector (through LAB_EXERCISE_MODULE, with
 * LAB_CHAOS=1) and the types their code is written against. The lab imports these from
 * `@lab/cqrs-projector/seams`, never from the projector's internals.
 */
import type { Redis } from '@lab/shared/redis';
import { rebuildReadModel } from './domain/rebuild-read-model.ts';
import type { ExtraProjection } from './entry-points/kafka/events.consumer.ts';

export type { EventEnvelope } from './domain/events.ts';
export type { ExtraProjection } from './entry-points/kafka/events.consumer.ts';
export {
  nextGeneration,
  type RebuildOptions,
  type RebuildResult,
  type RebuildSteps,
} from './domain/rebuild-read-model.ts';

/**
 * `createProjection`: an extra read model fed by the same consumer after the core views
 * (exercise 03). Production maintains none.
 * `rebuildReadModel`: a live rebuild into a new generation, behind `POST /admin/rebuilds`
 * (exercise 05).
 */
export const projectorSeams = {
  createProjection: (_redis: Redis, _keyPrefix: string): ExtraProjection | undefined => undefined,
  rebuildReadModel,
};
