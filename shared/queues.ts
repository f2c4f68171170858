// What travels inside a BullMQ job.
import type { JobSpec } from './job-spec.ts';
import type { LastPreemption } from './job-view.ts';

/**
 * A spec as it waits in a queue: without its requirements, which its queue stands for (the
 * queue registry keeps them). Every byte here is encoded, stored and parsed once per job.
 */
export type QueuedSpec = WithoutRequirements<JobSpec>;
/** Omit over each member of a union (plain Omit would merge the job types into one). */
type WithoutRequirements<T> = T extends unknown ? Omit<T, 'requirements'> : never;

export function queuedSpec(spec: JobSpec): QueuedSpec {
  const { requirements: _, ...rest } = spec;
  return rest;
}

/** A BullMQ job's data. */
export interface JobData {
  spec: QueuedSpec;
  tenant: string;
  /** Set once the job was preempted: how often, and the last time. */
  preemption?: { count: number; last: LastPreemption };
}

/** The reason BullMQ records for a job cancelled while it ran. */
export const CANCELLED_REASON = 'cancelled';

/** The abort reason of a running job asked to make room for another tenant (or a higher priority). */
export const PREEMPTED_REASON = 'preempted';

/** A job's last preemption: its schema is part of the job view the API returns. */
export type { LastPreemption } from './job-view.ts';
