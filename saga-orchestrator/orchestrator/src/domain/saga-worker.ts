import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@lab/shared/logging';
import type { Lease, SagaLog } from '../data-access/saga-log.repository.ts';
import { sagaMetrics } from './saga-metrics.ts';
import type { SagaRunner } from './saga-runner.ts';

/**
 * The claim loop: picks up sagas nobody is driving (new ones accepted while busy, ones whose
 * owner crashed and whose lease ran out) and runs them. A saga created by this instance's own
 * POST /trips is started at once through `launch`, without waiting for a poll.
 */
export class SagaWorker {
  private readonly inFlight = new Map<string, Promise<void>>();
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

  launch(lease: Lease): void {
    if (this.inFlight.has(lease.sagaId)) return;
    const running = this.runner
      .run(lease)
      .catch((error: unknown) => {
        // A database hiccup mid-saga: the lease runs out and a claim resumes it from the log.
        this.logger.error({ err: error, sagaId: lease.sagaId }, 'saga run interrupted');
      })
      .finally(() => {
        this.inFlight.delete(lease.sagaId);
        sagaMetrics.inFlight.set(this.inFlight.size);
      });
    this.inFlight.set(lease.sagaId, running);
    sagaMetrics.inFlight.set(this.inFlight.size);
  }

  async start(): Promise<void> {
    if (!this.options.claim) return;
    const recovered = await this.log.releaseLeasesOf(this.options.owner);
    if (recovered > 0)
      this.logger.info({ recovered }, 'resuming sagas left unfinished by a previous run');
    this.loop = this.claimLoop();
  }

  private async claimLoop(): Promise<void> {
    while (!this.stopped) {
      let claimed = 0;
      try {
        const room = this.options.maxInFlight - this.inFlight.size;
        if (room > 0) {
          const leases = await this.log.claim(
            this.options.owner,
            Math.min(room, this.options.batch),
          );
          claimed = leases.length;
          for (const lease of leases) this.launch(lease);
        }
      } catch (error) {
        this.logger.warn({ err: error }, 'claim failed; retrying');
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
