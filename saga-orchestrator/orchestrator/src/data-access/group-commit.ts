/**
 * Group commit for the saga log: writes that arrive while one is in flight wait for it, then
 * go to PostgreSQL together as one statement, one transaction and one WAL flush. A lone write
 * goes at once, so one client's step pays no extra wait; twenty sagas finishing steps side by
 * side pay for a few round trips instead of twenty. Each write still commits before its caller
 * moves on, which is all the saga log promises: nothing is acknowledged before it is durable.
 */
export class GroupCommit<Item, Result> {
  private queue: { item: Item; done: PromiseWithResolvers<Result> }[] = [];
  private flushing = false;
  private readonly write: (items: Item[]) => Promise<Result[]>;
  private readonly maxBatch: number;

  /** `write` stores a batch and answers one result per item, in the items' order. */
  constructor(write: (items: Item[]) => Promise<Result[]>, maxBatch = 100) {
    this.write = write;
    this.maxBatch = maxBatch;
  }

  add(item: Item): Promise<Result> {
    const done = Promise.withResolvers<Result>();
    this.queue.push({ item, done });
    if (!this.flushing) void this.flush();
    return done.promise;
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const results = await this.write(batch.map((entry) => entry.item));
        batch.forEach((entry, i) => {
          entry.done.resolve(results[i] as Result);
        });
      } catch (error) {
        // The batch was one transaction: none of it was written, so every caller hears why.
        for (const entry of batch) entry.done.reject(error);
      }
    }
    this.flushing = false;
  }
}
