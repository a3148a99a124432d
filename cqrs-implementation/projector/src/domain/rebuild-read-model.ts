/**
 * A rebuild: every read model built afresh into a new generation while the live one keeps
 * answering queries, then readers moved over in one step. For a projection bug fixed, or a
 * field added to a view. It is a use case of the projector, written against the steps below
 * (the projector's repository and event-log replay implement them), so it is also the seam
 * exercise 05 replaces.
 */

/** What a rebuild can do; each step is one operation on the read-model store or the log. */
export interface RebuildSteps {
  /** The generation readers use now, e.g. "g1". */
  liveGeneration: () => Promise<string>;
  /** The generation a rebuild is building, or null. */
  buildingGeneration: () => Promise<string | null>;
  /**
   * Names `generation` as the one being built. From this instant the projector applies every
   * live event to it as well as to the live one (decided inside its apply script, so no event
   * slips between the announcement and the projector noticing it). False when a rebuild is
   * already building one.
   */
  announce: (generation: string) => Promise<boolean>;
  /** Forgets the announcement. */
  clearAnnouncement: () => Promise<void>;
  /**
   * Replays the event log from offset 0 up to its end at the time of the call into
   * `generation`, with the version check of every write: where the replay and the live
   * projector write the same aggregate, the higher version wins, whichever comes first.
   */
  replayInto: (generation: string) => Promise<void>;
  /** Points readers at `generation`, and only that. */
  pointReadersAt: (generation: string) => Promise<void>;
  /** Points readers at `generation` and clears the announcement in one atomic step. */
  switchTo: (generation: string) => Promise<void>;
  /** Drops every key of `generation`. */
  drop: (generation: string) => Promise<void>;
  /** How many product and order views `generation` holds. */
  count: (generation: string) => Promise<{ products: number; orders: number }>;
}

export interface RebuildOptions {
  /** Discard a rebuild that crashed half-way (its announcement and keys) and start again. */
  force?: boolean;
}

export interface RebuildResult {
  from: string;
  to: string;
  /** Views in the new generation just before readers switched to it. */
  products: number;
  orders: number;
}

/** Another rebuild holds the announcement (or crashed holding it: `force` discards it). */
export class RebuildInProgress extends Error {
  override name = 'RebuildInProgress';
  readonly building: string;
  constructor(building: string) {
    super(`a rebuild is already building ${building}; if it crashed, rebuild with force`);
    this.building = building;
  }
}

export const nextGeneration = (live: string) => `g${Number(live.slice(1)) + 1}`;

/**
 * 1. Announce the new generation BEFORE the replay decides where the log ends: every event
 *    before that end is replayed, every event after it is applied by the live projector, which
 *    already writes to the announced generation too.
 * 2. Replay the log into the new generation.
 * 3. Switch readers and clear the announcement in one MULTI; readers resolve the generation in
 *    the same Lua script as each read, so they see the old one or the new one, never a mix.
 * 4. Drop the old generation.
 */
export async function rebuildReadModel(
  steps: RebuildSteps,
  options: RebuildOptions = {},
): Promise<RebuildResult> {
  const live = await steps.liveGeneration();
  const next = nextGeneration(live);
  if (options.force) {
    const stale = await steps.buildingGeneration();
    if (stale) await steps.drop(stale);
    await steps.clearAnnouncement();
  }
  if (!(await steps.announce(next)))
    throw new RebuildInProgress((await steps.buildingGeneration()) ?? next);
  try {
    await steps.replayInto(next);
  } catch (error) {
    await steps.clearAnnouncement();
    await steps.drop(next);
    throw error;
  }
  const { products, orders } = await steps.count(next);
  await steps.switchTo(next);
  await steps.drop(live);
  return { from: live, to: next, products, orders };
}

/**
 * The event log no longer starts at offset 0 (someone shortened its retention): a replay would
 * build a generation missing every aggregate whose events were deleted.
 */
export class EventLogTrimmed extends Error {
  override name = 'EventLogTrimmed';
  readonly partitions: number[];
  constructor(partitions: number[]) {
    super(
      `the event log no longer starts at offset 0 (partitions ${partitions.join(', ')}); a rebuild would miss what was deleted`,
    );
    this.partitions = partitions;
  }
}
