// The duties one scheduler replica runs for all of them (docs/design/dispatch.md): whichever
// replica holds the dispatch lease runs the preemption round once a second. Every replica
// tries to take the lease each round, so when the holder dies another takes over within the
// lease's expiry; a holder that loses Redis stops acting once it cannot renew.
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../shared/logger.ts';
import type { SchedulerMetrics } from './metrics.ts';
import type { Preemptor } from './preemptor.ts';
import type { Lease } from './state/lease.ts';

/** How long a holder keeps the lease without renewing it: a dead holder's duties pause this long. */
export const LEASE_TTL_MS = 5000;

export function leaseHolderId(): string {
  return `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

export class LeaderDuties {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private leading = false;

  constructor(
    private readonly lease: Lease,
    private readonly preemptor: Preemptor,
    private readonly metrics: SchedulerMetrics,
    private readonly log: Logger,
    /** Whether Redis answers: while it does not, a round would only queue commands and log failures. */
    private readonly redisUp: () => boolean = () => true,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => this.schedule(this.intervalMs));
    }, ms);
  }

  private async tick(): Promise<void> {
    if (!this.redisUp()) return;
    try {
      const held = await this.lease.acquire();
      if (held !== this.leading)
        this.log.info({ epoch: this.lease.epoch }, held ? 'took the dispatch lease' : 'lost the dispatch lease');
      this.leading = held;
      this.metrics.dispatchLeader.set(held ? 1 : 0);
      if (held) await this.preemptor.round();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'preemption round failed; retrying in 1 s');
    }
  }

  /** Stops the rounds and hands the lease over at once (not after its expiry). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    if (this.leading) await this.lease.release().catch(() => {});
    this.leading = false;
    this.metrics.dispatchLeader.set(0);
  }
}
