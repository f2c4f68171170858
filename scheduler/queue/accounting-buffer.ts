// A worker's job events and usage charges, sent in batches: at thousands of short jobs a
// second, one round trip per job per record would cost more than the jobs.
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';
import { accrued } from '../policy/fair-share.ts';
import { publishEvents, JobEventSummaries, type JobEvent } from '../state/job-events.ts';
import type { Keys } from '../state/keys.ts';
import type { UsageLedger } from '../state/usage.ts';

export class AccountingBuffer {
  private readonly events = new JobEventSummaries();
  private charges = new Map<string, { seconds: number; decayed: number; flops: number; jobs: number }>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly usage: UsageLedger,
    private readonly log: Logger,
    private readonly delayMs = 25,
  ) {}

  event(e: JobEvent): void {
    this.events.add(e);
    this.schedule();
  }

  /** An attempt of `tenant` that ran `seconds` has just ended. */
  charge(tenant: string, seconds: number, flops: number): void {
    const c = this.charges.get(tenant) ?? { seconds: 0, decayed: 0, flops: 0, jobs: 0 };
    c.seconds += seconds;
    // What it accrued as it ran, decayed to its end (the flush, a few ms later, decays no further).
    c.decayed += accrued(seconds, this.usage.halfLifeSeconds);
    c.flops += flops;
    c.jobs += 1;
    this.charges.set(tenant, c);
    this.schedule();
  }

  private schedule(): void {
    // flush() logs its own failures; this catch only keeps a bug from becoming an unhandled rejection.
    this.timer ??= setTimeout(() => this.flush().catch((err) => this.log.error({ err }, 'flush failed')), this.delayMs);
  }

  /** Sends what is buffered; resolves when it is in Redis. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const events = this.events.take();
    const charges = this.charges;
    this.charges = new Map();
    this.flushing = this.flushing.then(async () => {
      try {
        await Promise.all([
          events.length ? publishEvents(this.redis, this.keys, events) : null,
          this.usage.chargeMany([...charges].map(([tenant, c]) => ({ tenant, ...c }))),
        ]);
      } catch (err) {
        this.log.warn({ err }, 'job events or usage not recorded');
      }
    });
    return this.flushing;
  }
}
