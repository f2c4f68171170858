// What travels inside a BullMQ job.
import type { JobSpec } from './job-spec.ts';

/** A BullMQ job's data. */
export interface JobData {
  spec: JobSpec;
  tenant: string;
  submittedAt: number;
}

/** The reason BullMQ records for a job cancelled while it ran. */
export const CANCELLED_REASON = 'cancelled';
