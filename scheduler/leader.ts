// The duties one scheduler replica runs for all of them (docs/design/dispatch.md): whichever
// replica holds the dispatch lease runs the preemption round once a second and exports the
// gauges of global state (tenants' queues, workers). Every replica tries to take the lease each
// round, so when the holder dies another takes over within the lease's expiry; a holder that
// loses Redis stops acting once it cannot renew.
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../shared/logger.ts';
import type { SchedulerMetrics } from './metrics.ts';
import type { Lease } from './state/lease.ts';

/** How long a holder keeps the lease without renewing it: a dead holder's duties pause this long. */
export const LEASE_TTL_MS = 5000;

export function leaseHolderId(): string {
  return `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

/** One duty of the lease holder. */
export interface LeaderDuty {
  name: string;
  /** Runs at most this often (ms); the holder's round is once a second. */
  everyMs?: number;
  run(): Promise<void>;
  /** Called when this replica stops holding the lease (lost, or handed over on stop). */
  onLose?(): void;
}

export class LeaderDuties {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private held = false;
  private readonly lastRun = new Map<string, number>();

  constructor(
    private readonly lease: Lease,
    private readonly duties: LeaderDuty[],
    private readonly metrics: SchedulerMetrics,
    private readonly log: Logger,
    /** Whether Redis answers: while it does not, a round would only queue commands and log failures. */
    private readonly redisUp: () => boolean = () => true,
    private readonly intervalMs = 1000,
  ) {}

  /** Whether this replica holds the lease now. */
  get leading(): boolean {
    return this.held;
  }

  start(): void {
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => this.schedule(this.intervalMs));
    }, ms);
  }

  private setLeading(held: boolean): void {
    if (held !== this.held) {
      this.log.info({ epoch: this.lease.epoch }, held ? 'took the dispatch lease' : 'lost the dispatch lease');
      if (!held) {
        this.lastRun.clear();
        for (const d of this.duties) d.onLose?.();
      }
    }
    this.held = held;
    this.metrics.dispatchLeader.set(held ? 1 : 0);
  }

  private async tick(): Promise<void> {
    if (!this.redisUp()) return;
    let held: boolean;
    try {
      held = await this.lease.acquire();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'dispatch lease not renewed; retrying in 1 s');
      // Not renewed: another replica may take it once it expires, so act as if it were lost.
      return this.setLeading(false);
    }
    this.setLeading(held);
    if (!held) return;
    for (const d of this.duties) {
      const last = this.lastRun.get(d.name) ?? 0;
      if (Date.now() - last < (d.everyMs ?? 0)) continue;
      this.lastRun.set(d.name, Date.now());
      try {
        await d.run();
      } catch (err) {
        this.log.warn({ err: (err as Error).message, duty: d.name }, `${d.name} failed; retrying in 1 s`);
      }
    }
  }

  /** Stops the rounds and hands the lease over at once (not after its expiry). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    if (this.held) await this.lease.release().catch(() => {});
    this.setLeading(false);
  }
}
