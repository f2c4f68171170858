// Names of the BullMQ queues and Redis keys usine uses, in one place.
import type { JobSpec } from './job-spec.ts';

/** The queue that carries jobs to workers. */
export const JOBS_QUEUE = 'jobs';

/** What a BullMQ job's data holds. */
export interface JobData {
  spec: JobSpec;
  tenant: string;
  submittedAt: number;
}

/** What a worker records on the job when it takes it (BullMQ job data is immutable once added). */
export interface RunInfo {
  worker: string;
  adapter: string;
}
