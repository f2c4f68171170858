// The worker's side of a preemption: it reads the request the scheduler left in the
// PreemptionLedger, checks that it names this worker and this attempt, aborts the attempt,
// gives up on it when its grace runs out, and puts the job back at the front of its queue
// (not an attempt, not a failure). The dispatch loop (fair-puller.ts) only hands it the
// running attempts and asks it what to do with one that was stopped.
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';
import { PREEMPTED_REASON, type JobData, type LastPreemption } from '../../shared/queues.ts';
import type { Keys } from '../state/keys.ts';
import { PreemptionLedger, type PreemptionRequest } from '../state/preemptions.ts';
import type { RunningJob } from '../state/workers.ts';
import type { AccountingBuffer } from './accounting-buffer.ts';
import type { SlotReservations } from './slot-reservations.ts';
import type { TenantQueues } from './tenant-queues.ts';

/** A running attempt, as the heartbeat reports it, and what a preemption of it needs. */
export interface Attempt {
  info: RunningJob;
  /** The BullMQ worker running it (what aborts it). */
  worker: { cancelJob(jobId: string, reason?: string): boolean };
  /** Set once a preemption request for it was accepted (a repeated message is then a no-op). */
  preemption?: { request: PreemptionRequest; grace: NodeJS.Timeout };
  /** Gives up waiting for the processor (a preemption's grace ran out). */
  abandon?: () => void;
  /** A cancel or timeout that came while a preemption was under way: it wins (the job is not requeued). */
  stopReason?: string;
}

export interface PreemptionHandlerOptions {
  redis: Redis;
  keys: Keys;
  workerName: string;
  /** This run's id in the worker table: the one preemption requests name. */
  workerId: string;
  /** The device's power figure in watts, for the energy estimate. */
  powerWatts: number;
  log: Logger;
  queues: TenantQueues;
  accounting: AccountingBuffer;
  /** The attempts running here, by job id (kept by the puller). */
  attempts: ReadonlyMap<string, Attempt>;
  /** Where the slot an accepted request frees is kept for its preemptor's tenant. */
  reservations: SlotReservations;
  /** An accepted request freed a slot: the puller must start a round even if it had drained the queues. */
  slotFreed: () => void;
  /** Called once a preempted job is back in its queue (the worker writes its job log line). */
  onPreempted?: (job: Job<JobData>, last: LastPreemption) => void;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

export class PreemptionHandler {
  private readonly ledger: PreemptionLedger;
  /** Jobs put back in their queue by a preemption: completing them must not fetch the next job. */
  private readonly requeued = new WeakSet<Job<JobData>>();

  constructor(private readonly o: PreemptionHandlerOptions) {
    this.ledger = new PreemptionLedger(o.redis, o.keys);
  }

  /**
   * Requests naming this worker id from before it (re)started: none of their jobs runs here
   * now (a new run has a new id, and nothing has started yet), so nothing is to be done;
   * the scheduler clears them. Read only to say so: a bad ledger must not stop the worker.
   */
  async reportStale(): Promise<void> {
    try {
      const stale = (await this.ledger.all()).filter((r) => r.worker === this.o.workerId);
      if (stale.length) this.o.log.info({ jobs: stale.map((r) => r.job) }, 'preemption requests for jobs not here');
    } catch (err) {
      this.o.log.warn({ err }, 'could not read the preemption requests');
    }
  }

  /**
   * Carries out a preemption request for a job running here: once, and only if it names
   * this worker (a request left over from the job's attempt on another worker does not).
   * The slot it frees is reserved for the requesting tenant.
   */
  async preempt(jobId: string): Promise<boolean> {
    const a = this.o.attempts.get(jobId);
    if (!a || a.preemption) return false;
    const request = await this.ledger.get(jobId);
    // A request names a worker and an attempt: one left over from an earlier attempt of the job
    // on this worker (the scheduler has not cleared it yet) must not stop this one.
    if (
      !request ||
      request.worker !== this.o.workerId ||
      request.requestedAt < a.info.startedAt ||
      a.preemption ||
      this.o.attempts.get(jobId) !== a
    )
      return false;
    const grace = setTimeout(() => {
      this.o.log.warn(
        { job: jobId, graceSeconds: request.graceSeconds },
        'preempted job did not stop within its grace; abandoning the attempt',
      );
      a.abandon?.();
    }, request.graceSeconds * 1000).unref();
    a.preemption = { request, grace };
    this.o.reservations.add(request);
    // The freed slot must start a round even if the last one drained the queues.
    this.o.slotFreed();
    this.o.log.info(
      { job: jobId, tenant: request.tenant, forTenant: request.forTenant, reason: request.reason },
      'preempting job',
    );
    a.worker.cancelJob(jobId, PREEMPTED_REASON);
    return true;
  }

  /** A cancel or timeout of a job running here: if a preemption of it is under way, the cancel wins. */
  stopped(a: Attempt | undefined, reason: string): void {
    if (a?.preemption) a.stopReason = reason;
  }

  /** Whether an attempt that threw was stopped by its preemption (and nothing since): it is to be requeued. */
  preempted(attempt: Attempt, signal: AbortSignal): boolean {
    return signal.aborted && signal.reason === PREEMPTED_REASON && !!attempt.preemption && !attempt.stopReason;
  }

  /** Whether `job` was put back in its queue by a preemption. */
  wasRequeued(job: Job<JobData>): boolean {
    return this.requeued.has(job);
  }

  /** The attempt has ended: its grace timer, if any, has nothing left to abandon. */
  ended(attempt: Attempt): void {
    clearTimeout(attempt.preemption?.grace);
  }

  /**
   * The processor's outcome, unless a preemption's grace runs out first: then the attempt is
   * abandoned (the job is requeued; the stray run is left to end on its own, its outcome unused).
   */
  withGrace<T>(attempt: Attempt, run: Promise<T>): Promise<T> {
    return Promise.race([
      run,
      new Promise<never>((_, reject) => {
        attempt.abandon = () => {
          run.catch(() => {}); // its rejection, when it comes, is expected
          reject(new Error('abandoned after the preemption grace'));
        };
      }),
    ]);
  }

  /**
   * Puts a preempted job back at the front of its queue (BullMQ's move from active to wait:
   * not an attempt, not a failure), with the preemption in its data; then the request is done.
   */
  async requeue(job: Job<JobData>, token: string, attempt: Attempt): Promise<void> {
    const { request } = attempt.preemption!;
    const now = Date.now();
    const { startedAt, checkpointAt } = attempt.info;
    const last: LastPreemption = {
      at: new Date(now).toISOString(),
      worker: this.o.workerName,
      forTenant: request.forTenant,
      reason: request.reason,
      ranSeconds: round1((now - startedAt) / 1000),
      // The work since the last checkpoint (≈ 0 for a train job that saved one on its way out).
      lostDeviceSeconds: round1((now - (checkpointAt ?? startedAt)) / 1000),
      share: request.share,
      target: request.target,
    };
    this.requeued.add(job);
    try {
      await job.updateData({ ...job.data, preemption: { count: (job.data.preemption?.count ?? 0) + 1, last } });
      await job.moveToWait(token);
    } catch (err) {
      // The lock was lost (the job is being handed back as stalled): that path requeues it.
      this.o.log.warn({ err, job: job.id }, 'could not requeue the preempted job');
      return;
    }
    // The request stays: the scheduler clears it once this worker's heartbeat no longer lists
    // the job. Cleared here, a round reading the heartbeat from before the requeue would see the
    // job running with no request, count it as its tenant's, and preempt again for it.
    try {
      // Indexed already (it had this job running): added again so the index does not rest on that
      // alone. The wake-up that goes with it: other workers may have drained their rounds, and the
      // requeued job is new work for them.
      await this.o.queues.active.add([job.queueName]);
    } catch (err) {
      this.o.log.warn({ err, job: job.id }, 'preempted job requeued; not indexed or other workers not woken');
    }
    this.o.accounting.event({
      kind: 'preempted',
      tenant: job.data.tenant,
      type: job.data.spec.type,
      reason: request.reason,
      ranSeconds: last.ranSeconds,
      lostSeconds: last.lostDeviceSeconds,
      joules: last.ranSeconds * this.o.powerWatts,
    });
    this.o.log.info({ job: job.id, ...last }, 'preempted job requeued');
    this.o.onPreempted?.(job, last);
  }
}
