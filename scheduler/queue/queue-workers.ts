// The BullMQ workers of one worker process: one per tenant queue it has taken from, driven by
// hand (FairPuller chooses the queue; BullMQ's atomic moves, locks and retries do the rest).
//
// They share the process' one Redis connection. A BullMQ Worker otherwise opens two of its own
// (a duplicate, and one for blocking fetches), and a process serving 1,000 tenant queues held
// 2,000 connections, and set up BullMQ's scripts on each: #14 measured 8,000+ connections and
// 2 GB of Node memory for 8 pullers at 1,000 tenants. Ours never block (getNextJob without
// blocking), so BullMQ's backend factory hands each a sibling of one shared backend, as its
// FlowProducer does for the queues of a flow.
//
// Stalled-job checks (what hands a dead worker's jobs back) run only for the queues of the
// active-queue index (active-queues.ts): a queue with a running job is always indexed, and one
// without any has nothing to recover, so an idle installation costs one index read per lock
// period, not one script per queue ever created.
import { Worker, createRedisBackend, type BackendFactory, type Processor, type RedisQueueBackend } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobData } from '../../shared/queues.ts';

/** A job found without its lock twice goes back to its queue; the third time it fails. */
const MAX_STALLED_COUNT = 2;

/** A BullMQ worker for one queue, driven by hand (no main loop, no stalled-check timer of its own). */
export class QueueWorker extends Worker<JobData> {
  startManual(): void {
    this.lockManager.start();
  }

  /**
   * One stalled-job check of this queue: BullMQ's script, which does the work at most once per
   * lock period over all callers. Returns the ids of the jobs it found stalled.
   */
  async checkStalled(): Promise<string[]> {
    const stalled = await this.getBackend().moveStalledJobsToWait();
    for (const id of stalled) this.emit('stalled', id, 'active');
    return stalled;
  }
}

export interface QueueWorkerOptions {
  redis: Redis;
  prefix: string;
  /** Shown in Redis' client list and BullMQ's job data (`processedBy`). */
  workerName: string;
  /** Lock duration of a running job; also the stalled-check period. */
  lockMs: number;
}

/** Creates the queue workers of one process, all over its one connection. */
export class QueueWorkerFactory {
  private base: RedisQueueBackend | null = null;
  private readonly backends: BackendFactory<RedisQueueBackend> = (name, opts) => {
    // The base's options (lock duration, stalled count) are what every sibling's scripts read.
    if (!this.base) {
      this.base = createRedisBackend(name, opts);
      // It forwards the connection's errors, and no BullMQ worker listens to it (the siblings'
      // workers do to theirs): an 'error' with no listener throws, and killed the worker process
      // at the first failed reconnect. The process' own health check reports the outage.
      this.base.on('error', () => {});
    }
    return this.base.forQueue(name, this.o.prefix) as RedisQueueBackend;
  };

  constructor(private readonly o: QueueWorkerOptions) {}

  create(name: string, processor: Processor<JobData>): QueueWorker {
    return new QueueWorker(
      name,
      processor,
      {
        connection: this.o.redis,
        prefix: this.o.prefix,
        name: this.o.workerName,
        autorun: false,
        maxStalledCount: MAX_STALLED_COUNT,
        lockDuration: this.o.lockMs,
        stalledInterval: this.o.lockMs,
      },
      this.backends,
    );
  }
}
