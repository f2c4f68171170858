// Mechanics of jobs in BullMQ: adding them, and reading them back as API views.
// No policy here: what may be submitted and who goes first are decided elsewhere.
import { Queue, type Job, type JobState as BullState } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobSpec } from '../shared/job-spec.ts';
import type { JobState, JobView, JobProgress } from '../shared/job-view.ts';
import { JOBS_QUEUE, type JobData } from '../shared/queues.ts';

export const CANCELLED_REASON = 'cancelled';

/** usine's priority (0–1000, higher first) as BullMQ's (1 = first). */
function bullPriority(p: number): number {
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

export class JobStore {
  readonly queue: Queue<JobData>;

  constructor(
    connection: Redis,
    prefix: string,
    private readonly retentionSeconds: number,
  ) {
    this.queue = new Queue<JobData>(JOBS_QUEUE, { connection, prefix });
  }

  async submit(spec: JobSpec, tenant: string): Promise<{ id: string; state: JobState }> {
    const job = await this.queue.add(spec.type, { spec, tenant, submittedAt: Date.now() }, {
      priority: bullPriority(spec.priority),
      attempts: 3,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: this.retentionSeconds },
      removeOnFail: { age: this.retentionSeconds },
    });
    return { id: job.id!, state: 'queued' };
  }

  async get(id: string): Promise<JobView | null> {
    // State first: a job read before its state could look finished without its result.
    const state = await this.queue.getJobState(id);
    const job = await this.queue.getJob(id);
    if (!job) return null;
    return toView(job, state);
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

export function toView(job: Job<JobData>, bull: BullState | 'unknown'): JobView {
  const state = viewState(bull, job);
  const progress = typeof job.progress === 'object' ? (job.progress as JobProgress) : null;
  return {
    id: job.id!,
    type: job.data.spec.type,
    state,
    progress,
    result: state === 'succeeded' ? (job.returnvalue ?? null) : null,
    error: state === 'failed' || state === 'cancelled' || state === 'retrying' ? job.failedReason || null : null,
    attempts: job.attemptsMade,
    createdAt: new Date(job.timestamp).toISOString(),
    startedAt: iso(job.processedOn),
    finishedAt: iso(job.finishedOn),
    worker: job.processedBy ?? null,
  };
}
