// Mechanics of jobs in BullMQ: adding them to their tenant's queue, finding them again,
// cancelling, listing. No policy here: admission and fair share are decided elsewhere.
import type { Job, JobState as BullState, JobType as BullListType } from 'bullmq';
import type { Redis } from 'ioredis';
import { dependencyOf, type JobSpec } from '../../shared/job-spec.ts';
import type { JobState, JobView, JobProgress } from '../../shared/job-view.ts';
import { CANCELLED_REASON, queuedSpec, type JobData } from '../../shared/queues.ts';
import type { Keys } from '../state/keys.ts';
import { newJobId, queueOfJobId, type TenantQueues, type QueueInfo } from './tenant-queues.ts';

/** usine's priority (0–1000, higher first) as BullMQ's (1 = first). */
export function bullPriority(p: number): number {
  return 1001 - p;
}

function iso(ms: number | undefined): string | null {
  return ms ? new Date(ms).toISOString() : null;
}

export function viewState(bull: BullState | 'unknown', job: Job): JobState {
  switch (bull) {
    case 'active':
      return 'running';
    case 'completed':
      return 'succeeded';
    case 'failed':
      return job.failedReason === CANCELLED_REASON ? 'cancelled' : 'failed';
    case 'delayed':
      return job.attemptsMade > 0 ? 'retrying' : 'queued';
    default:
      return 'queued';
  }
}

export function toView(job: Job<JobData>, bull: BullState | 'unknown'): JobView {
  const state = viewState(bull, job);
  const progress = typeof job.progress === 'object' ? (job.progress as JobProgress) : null;
  return {
    id: job.id!,
    type: job.data.spec.type,
    tenant: job.data.tenant,
    state,
    priority: job.data.spec.priority,
    progress,
    result: state === 'succeeded' ? (job.returnvalue ?? null) : null,
    error: state === 'failed' || state === 'cancelled' || state === 'retrying' ? job.failedReason || null : null,
    attempts: job.attemptsMade,
    createdAt: new Date(job.timestamp).toISOString(),
    startedAt: iso(job.processedOn),
    finishedAt: iso(job.finishedOn),
    worker: job.processedBy ?? null,
    preemptions: job.data.preemption?.count ?? 0,
    lastPreemption: job.data.preemption?.last ?? null,
  };
}

const LIST_STATES: Record<JobState, BullListType[]> = {
  queued: ['waiting', 'prioritized', 'delayed'],
  retrying: ['delayed'],
  running: ['active'],
  succeeded: ['completed'],
  failed: ['failed'],
  cancelled: ['failed'],
};

export interface NewJob {
  spec: JobSpec;
  queue: QueueInfo;
}

/** A job held back until its dependency succeeds. */
interface PendingJob {
  id: string;
  spec: JobSpec;
  queue: QueueInfo;
  createdAt: number;
}

function pendingView(p: PendingJob, waitingFor: string | null): JobView {
  return {
    id: p.id,
    type: p.spec.type,
    tenant: p.queue.tenant,
    state: 'queued',
    priority: p.spec.priority,
    waitingFor,
    progress: null,
    result: null,
    error: null,
    attempts: 0,
    createdAt: new Date(p.createdAt).toISOString(),
    startedAt: null,
    finishedAt: null,
    worker: null,
    preemptions: 0,
    lastPreemption: null,
  };
}

export class JobStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    readonly queues: TenantQueues,
    private readonly retentionSeconds: number,
  ) {}

  /** Adds jobs (one request's worth) to their queues; returns their ids in order. */
  async add(jobs: NewJob[]): Promise<string[]> {
    const ids = jobs.map((j) => newJobId(j.queue));
    const ready: { id: string; job: NewJob }[] = [];
    const held = this.redis.pipeline();
    for (const [i, job] of jobs.entries()) {
      const dep = dependencyOf(job.spec);
      const depState = dep ? (await this.get(dep))?.state : undefined;
      if (dep && depState !== 'succeeded') {
        const p: PendingJob = { id: ids[i], spec: job.spec, queue: job.queue, createdAt: Date.now() };
        held.hset(this.keys.pending, p.id, JSON.stringify(p));
      } else {
        ready.push({ id: ids[i], job });
      }
    }
    await held.exec();
    await this.enqueue(ready);
    return ids;
  }

  /** Puts jobs into their BullMQ queues under the given ids. */
  private async enqueue(items: { id: string; job: NewJob }[]): Promise<void> {
    if (items.length === 0) return;
    const ids = items.map((x) => x.id);
    const jobs = items.map((x) => x.job);
    const byQueue = new Map<string, { info: QueueInfo; items: { id: string; spec: JobSpec }[] }>();
    jobs.forEach((j, i) => {
      const g = byQueue.get(j.queue.name) ?? { info: j.queue, items: [] };
      g.items.push({ id: ids[i], spec: j.spec });
      byQueue.set(j.queue.name, g);
    });
    await Promise.all([...byQueue.values()].map((g) => this.queues.register(g.info)));
    // One transaction over every queue (TenantQueues.addAll).
    await this.queues.addAll(
      [...byQueue].flatMap(([name, g]) =>
        g.items.map(({ id, spec }) => ({
          name: spec.type,
          queueName: name,
          data: { spec: queuedSpec(spec), tenant: g.info.tenant },
          opts: {
            jobId: id,
            // Only the priority queue orders by priority; the other is FIFO.
            ...(g.info.prioritized ? { priority: bullPriority(spec.priority) } : {}),
            attempts: spec.attempts,
            backoff: { type: 'exponential', delay: 1000 },
            removeOnComplete: { age: this.retentionSeconds },
            removeOnFail: { age: this.retentionSeconds },
          },
        })),
      ),
    );
    // Into the index after the jobs are in their queues (active-queues.ts says why this order),
    // and the wake-up naming them: a worker that can serve none of them need not look (FairPuller.onWake).
    await this.queues.active.add([...byQueue.keys()]);
  }

  /**
   * Releases held jobs whose dependency succeeded, and fails those whose dependency failed,
   * was cancelled or is gone. Run periodically by every scheduler: a claim key decides which
   * one acts on a job. A job enters its queue (or gets its final view) before it leaves the
   * held set, so a reader finds it at every moment; a cancel that took it from the held set
   * meanwhile wins, and the release undoes its enqueue.
   */
  async releaseDependants(): Promise<{ released: number; failed: number }> {
    const all = Object.values(await this.redis.hgetall(this.keys.pending)).map((j) => JSON.parse(j) as PendingJob);
    let released = 0;
    let failed = 0;
    for (const p of all) {
      const dep = dependencyOf(p.spec)!;
      const v = await this.get(dep);
      if (v && !['succeeded', 'failed', 'cancelled'].includes(v.state)) continue;
      if ((await this.redis.set(this.keys.releasing(p.id), '1', 'EX', 60, 'NX')) !== 'OK') continue;
      if (v?.state === 'succeeded') {
        await this.enqueue([{ id: p.id, job: { spec: p.spec, queue: p.queue } }]);
        if ((await this.redis.hdel(this.keys.pending, p.id)) === 1) released++;
        else await this.cancel(p.id); // cancelled while being released
      } else {
        const why = v
          ? `dependency ${dep} ${v.state}${v.error ? `: ${v.error}` : ''}`
          : `dependency ${dep} no longer exists`;
        const final: JobView = {
          ...pendingView(p, null),
          state: 'failed',
          error: why,
          finishedAt: new Date().toISOString(),
        };
        // NX: a cancel's final view, written meanwhile, stays.
        await this.keepFinalView(final, true);
        if ((await this.redis.hdel(this.keys.pending, p.id)) === 1) failed++;
      }
    }
    return { released, failed };
  }

  private async pending(id: string): Promise<PendingJob | null> {
    const j = await this.redis.hget(this.keys.pending, id);
    return j ? (JSON.parse(j) as PendingJob) : null;
  }

  /** The job and its BullMQ state, or null. */
  async find(id: string): Promise<{ job: Job<JobData>; state: BullState | 'unknown'; queue: string } | null> {
    const queue = queueOfJobId(id);
    // Only queues that exist: an id is user input, and each queue opened here stays open.
    if (!queue || !(await this.queues.has(queue))) return null;
    const q = this.queues.queue(queue);
    // State first: a job read before its state could look finished without its result.
    const state = await q.getJobState(id);
    const job = await q.getJob(id);
    return job ? { job, state, queue } : null;
  }

  async get(id: string): Promise<JobView | null> {
    const found = await this.find(id);
    if (found) return toView(found.job, found.state);
    const held = await this.pending(id);
    if (held) {
      const dep = dependencyOf(held.spec)!;
      return pendingView(held, `waiting for job ${dep} to succeed`);
    }
    const tomb = await this.redis.get(this.keys.cancelled(id));
    return tomb ? (JSON.parse(tomb) as JobView) : null;
  }

  /**
   * Cancels a job: a queued one is removed at once (its final view is kept for the retention
   * period); a running one is asked to stop, which reaches the kernel loop between dispatches.
   */
  async cancel(id: string): Promise<JobView | null> {
    const found = await this.find(id);
    if (!found) {
      const held = await this.pending(id);
      if (!held) return this.get(id);
      // The final view first, then out of the held set: a reader finds the job at every moment.
      const final: JobView = {
        ...pendingView(held, null),
        state: 'cancelled',
        error: CANCELLED_REASON,
        finishedAt: new Date().toISOString(),
      };
      await this.keepFinalView(final);
      if ((await this.redis.hdel(this.keys.pending, id)) === 1) return final;
      // Released meanwhile: in its queue now, cancel it there. (Failed meanwhile, for its
      // dependency: the cancel's view, written first, stays.)
      if (!(await this.find(id))) return final;
      await this.redis.multi().del(this.keys.cancelled(id)).zrem(this.keys.finalViews, id).exec();
      return this.cancel(id);
    }
    const { job, state } = found;
    const view = toView(job, state);
    if (['succeeded', 'failed', 'cancelled'].includes(view.state)) return view;
    if (state !== 'active') {
      try {
        await job.remove();
        const final: JobView = {
          ...view,
          state: 'cancelled',
          error: CANCELLED_REASON,
          finishedAt: new Date().toISOString(),
          waitingFor: null,
        };
        await this.keepFinalView(final);
        return final;
      } catch {
        // Taken by a worker in the meantime: cancel it as a running job.
      }
    }
    await this.redis.publish(this.keys.cancelChannel, id);
    return toView(job, 'active');
  }

  /**
   * The job's log: the lines its workers wrote (attempts that ran a second or more, attempts
   * that did not succeed), then its success, which workers leave to the job's own fields.
   */
  async logs(id: string): Promise<string[] | null> {
    const found = await this.find(id);
    if (!found) return null;
    const { job, queue, state } = found;
    const lines = (await this.queues.queue(queue).getJobLogs(id, 0, -1)).logs;
    if (state === 'completed' && job.finishedOn && job.processedOn) {
      lines.push(
        `${iso(job.finishedOn)} attempt ${job.attemptsMade} on worker ${job.processedBy ?? '?'} succeeded after ${job.finishedOn - job.processedOn} ms`,
      );
    }
    return lines;
  }

  /**
   * Keeps the final view of a job that left BullMQ (cancelled while queued or held, or failed
   * for its dependency) for the retention period, indexed by time so that list() finds it.
   */
  private async keepFinalView(view: JobView, onlyIfNone = false): Promise<void> {
    const now = Date.now();
    const key = this.keys.cancelled(view.id);
    const json = JSON.stringify(view);
    const tx = this.redis.multi();
    if (onlyIfNone) tx.set(key, json, 'EX', this.retentionSeconds, 'NX');
    else tx.set(key, json, 'EX', this.retentionSeconds);
    await tx
      .zadd(this.keys.finalViews, now, view.id)
      .zremrangebyscore(this.keys.finalViews, '-inf', now - this.retentionSeconds * 1000)
      .exec();
  }

  /**
   * Views of jobs outside BullMQ, newest first: held for a dependency (state queued), and the
   * final views of those that left (cancelled, or failed for their dependency).
   */
  private async outsideQueues(tenant: string | null, state: JobState | undefined, limit: number): Promise<JobView[]> {
    const out: JobView[] = [];
    const mine = (id: string) => !tenant || id.startsWith(`${tenant}.`);
    if (!state || state === 'queued') {
      for (const json of Object.values(await this.redis.hgetall(this.keys.pending))) {
        const p = JSON.parse(json) as PendingJob;
        if (mine(p.id)) out.push(pendingView(p, `waiting for job ${dependencyOf(p.spec)} to succeed`));
      }
    }
    if (!state || state === 'cancelled' || state === 'failed') {
      // Newest first; read more than `limit` when a tenant's share of them may be small.
      const ids = (await this.redis.zrevrange(this.keys.finalViews, 0, tenant ? limit * 10 : limit - 1)).filter(mine);
      const views = ids.length ? await this.redis.mget(ids.map((id) => this.keys.cancelled(id))) : [];
      for (const v of views) if (v) out.push(JSON.parse(v) as JobView);
    }
    return out;
  }

  /**
   * Newest first, over the given queues, and (with `tenant`: that tenant's, null: everyone's)
   * the jobs held for a dependency or removed from their queue by a cancel.
   */
  async list(
    queues: QueueInfo[],
    filter: { state?: JobState; type?: string; limit: number; tenant?: string | null },
  ): Promise<JobView[]> {
    const types = filter.state
      ? LIST_STATES[filter.state]
      : (['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'] as BullListType[]);
    const views: JobView[] = [];
    for (const info of queues) {
      const q = this.queues.queue(info.name);
      for (const t of types) {
        const jobs = (await q.getJobs([t], 0, filter.limit - 1, false)) as Job<JobData>[];
        const bull: BullState = t === 'waiting' ? 'waiting' : (t as BullState);
        for (const j of jobs) if (j) views.push(toView(j, bull));
      }
    }
    if (filter.tenant !== undefined)
      views.push(...(await this.outsideQueues(filter.tenant, filter.state, filter.limit)));
    return views
      .filter((v) => (!filter.state || v.state === filter.state) && (!filter.type || v.type === filter.type))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, filter.limit);
  }
}
