import {
  nextGeneration,
  type RebuildOptions,
  type RebuildResult,
  type RebuildSteps,
} from '@lab/cqrs-projector/seams';

/**
 * Exercise 05: rebuild every read model into a new generation by replaying the event log, then
 * point readers at it. Queries keep being served from the old generation meanwhile, which is
 * the point. But events keep arriving too, and this version loses the ones that are published
 * while it replays.
 */
export async function rebuildReadModel(
  steps: RebuildSteps,
  _options: RebuildOptions,
): Promise<RebuildResult> {
  const live = await steps.liveGeneration();
  const next = nextGeneration(live);
  await steps.replayInto(next);
  const { products, orders } = await steps.count(next);
  await steps.pointReadersAt(next);
  return { from: live, to: next, products, orders };
}
