import {
  nextGeneration,
  type RebuildOptions,
  type RebuildResult,
  type RebuildSteps,
} from '@lab/cqrs-projector/seams';

/**
 * 1. Announce the new generation BEFORE the replay decides where the log ends: from then on
 *    the live projector writes every event to it too, so each event is either before the
 *    replay's end (replayed) or after it (applied live).
 * 2. Replay with the same version-checked write the projector uses, so whichever of the two
 *    writes an aggregate first, the higher version wins.
 * 3. Switch `generation` and clear `building` in one MULTI: readers move over atomically, and
 *    the projector stops writing twice at the same instant.
 */
export async function rebuildReadModel(
  steps: RebuildSteps,
  _options: RebuildOptions,
): Promise<RebuildResult> {
  const live = await steps.liveGeneration();
  const next = nextGeneration(live);
  if (!(await steps.announce(next))) throw new Error(`a rebuild is already building ${next}`);
  await steps.replayInto(next);
  const { products, orders } = await steps.count(next);
  await steps.switchTo(next);
  await steps.drop(live);
  return { from: live, to: next, products, orders };
}
