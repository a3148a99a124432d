import { setTimeout as sleep } from 'node:timers/promises';
import { isDependencyUnavailable } from '@lab/shared/errors';
import type { Logger } from '@lab/shared/logging';
import type { FreshSaga, Lease, SagaLog, SagaStatus } from '../data-access/saga-log.repository.ts';
import { sagaMetrics } from '../infrastructure/saga-metrics.ts';
import type { SagaRunner } from './saga-runner.ts';

// While the saga log is unreachable, a saga waits this long (doubling) before looking again,
// or less: the claim loop wakes every paused saga as soon as the log answers it.
const LOG_RETRY_FIRST_MS = 100;
const LOG_RETRY_MAX_MS = 2000;

/**
 * The claim loop: picks up sagas nobody is driving (new ones accepted while busy, ones whose
 * owner crashed and whose lease ran out) and runs them. A saga created by this instance's own
 * POST /trips, or adopted when a client replays a POST whose saga nobody drives, is started at
 * once through `launch`, without waiting for a poll.
 */
export class SagaWorker {
  private readonly inFlight = new Map<string, Promise<SagaStatus | undefined>>();
  /** A lease claimed for a saga that is still in flight here, taken over when its run ends. */
  private readonly newerLease = new Map<string, Lease>();
  private claimFailing = false;
  /** Sagas whose run waits for the saga log; their leases may run out meanwhile. */
  private readonly paused = new Set<string>();
  private logBack = Promise.withResolvers<undefined>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly log: SagaLog;
  private readonly runner: SagaRunner;
  private readonly logger: Logger;
  private readonly options: {
    owner: string;
    claim: boolean;
    pollMs: number;
    batch: number;
    maxInFlight: number;
  };

  constructor(
    log: SagaLog,
    runner: SagaRunner,
    logger: Logger,
    options: {
      owner: string;
      claim: boolean;
      pollMs: number;
      batch: number;
      maxInFlight: number;
    },
  ) {
    this.log = log;
    this.runner = runner;
    this.logger = logger;
    this.options = options;
  }

  get owner(): string {
    return this.options.owner;
  }

  hasRoom(): boolean {
    return !this.stopped && this.inFlight.size < this.options.maxInFlight;
  }

  /** True while this instance drives the saga (a run in flight, perhaps paused on the log). */
  isRunning(sagaId: string): boolean {
    return this.inFlight.has(sagaId);
  }

  /**
   * Resolves when this instance's run of the saga ends, with the terminal status it reached
   * (undefined when it was handed back or lost); undefined when no run is in flight here. A
   * client that asked to wait for the outcome is answered from this in-memory signal, instead
   * of polling the saga log for it.
   */
  runEnded(sagaId: string): Promise<SagaStatus | undefined> | undefined {
    return this.inFlight.get(sagaId);
  }

  /** `fresh`: a saga this instance has just created (its row, its first attempt), handed to its first run. */
  launch(lease: Lease, fresh?: FreshSaga): void {
    if (this.inFlight.has(lease.sagaId)) {
      // Its lease ran out while the run waited for the saga log and the claim loop took it
      // again: the run in flight carries on with this lease instead of a fenced-out one.
      this.newerLease.set(lease.sagaId, lease);
      return;
    }
    const running = this.drive(lease, fresh).finally(() => {
      this.inFlight.delete(lease.sagaId);
      this.paused.delete(lease.sagaId);
      this.newerLease.delete(lease.sagaId);
      sagaMetrics.inFlight.set(this.inFlight.size);
    });
    this.inFlight.set(lease.sagaId, running);
    sagaMetrics.inFlight.set(this.inFlight.size);
  }

  /**
   * Runs the saga until it is terminal, handed back or lost to another instance. Without its
   * log the orchestrator cannot decide anything (every transition is written before the next
   * call), so a run that cannot reach the log pauses and starts again from the log once it
   * answers; it never guesses, and never marks a trip failed because a write did not land.
   * Every write is fenced by the lease, so if the lease ran out meanwhile and another instance
   * claimed the saga, this run's first write is refused and the other instance carries on.
   */
  private async drive(first: Lease, fresh: FreshSaga | undefined): Promise<SagaStatus | undefined> {
    let lease = first;
    // Only the first run may skip reading the log: after a pause the log is the truth.
    let row = fresh;
    let delay = LOG_RETRY_FIRST_MS;
    let ended: SagaStatus | undefined;
    for (;;) {
      try {
        const known = row;
        row = undefined;
        ended = await this.runner.run(lease, known);
      } catch (error) {
        if (!isDependencyUnavailable(error)) {
          // A bug or a refused write: the lease runs out and a claim resumes it from the log.
          this.logger.error({ err: error, sagaId: lease.sagaId }, 'saga run interrupted');
          return undefined;
        }
        // Shutting down: the lease runs out and the next instance resumes it from the log.
        if (this.stopped) return undefined;
        if (delay === LOG_RETRY_FIRST_MS)
          this.logger.warn(
            { err: error, sagaId: lease.sagaId },
            'saga log unreachable: saga paused until it answers',
          );
        this.paused.add(lease.sagaId);
        await Promise.race([sleep(delay), this.logBack.promise]);
        delay = Math.min(delay * 2, LOG_RETRY_MAX_MS);
        lease = this.takeNewerLease(lease);
        continue;
      }
      const newer = this.takeNewerLease(lease);
      if (newer === lease) return ended;
      lease = newer;
    }
  }

  private takeNewerLease(lease: Lease): Lease {
    const newer = this.newerLease.get(lease.sagaId);
    this.newerLease.delete(lease.sagaId);
    return newer && newer.version > lease.version ? newer : lease;
  }

  /**
   * Starts the claim loop when this instance claims (SAGA_WORKER=1): its first act is taking
   * back this owner's leases from a previous run. With `own` or `0` there is no claim loop.
   */
  start(): Promise<void> {
    if (this.options.claim) this.loop = this.claimLoop();
    return Promise.resolve();
  }

  private async claimLoop(): Promise<void> {
    let released = false;
    while (!this.stopped) {
      let claimed = 0;
      try {
        if (!released) {
          const recovered = await this.log.releaseLeasesOf(this.options.owner);
          released = true;
          if (recovered > 0)
            this.logger.info({ recovered }, 'resuming sagas left unfinished by a previous run');
        }
        const room = this.options.maxInFlight - this.inFlight.size;
        if (room > 0) {
          // A paused saga's lease may have run out while the log was down; it is still this
          // instance's to resume, and claiming it here would only fence out its own run.
          const leases = await this.log.claim(
            this.options.owner,
            Math.min(room, this.options.batch),
            [...this.paused],
          );
          claimed = leases.length;
          for (const lease of leases) this.launch(lease);
        }
        if (this.claimFailing) {
          this.logger.info({ paused: this.paused.size }, 'saga log reachable again: resuming');
          this.logBack.resolve(undefined);
          this.logBack = Promise.withResolvers<undefined>();
        }
        this.claimFailing = false;
      } catch (error) {
        // One line per outage, not one per poll.
        if (!this.claimFailing) this.logger.warn({ err: error }, 'claim failed; retrying');
        this.claimFailing = true;
      }
      if (claimed < this.options.batch) await sleep(this.options.pollMs);
    }
  }

  /** Graceful stop: no new claims; in-flight sagas finish their current step and hand back their lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await Promise.allSettled(this.inFlight.values());
  }
}
