// What travels inside a BullMQ job.
import type { JobSpec } from './job-spec.ts';

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

/** A job's last preemption, kept in its data (what `usine status` and `usine logs` show). */
export interface LastPreemption {
  /** When the attempt stopped (ISO time). */
  at: string;
  /** The worker it ran on (name). */
  worker: string;
  /** The tenant whose job gets the slot. */
  forTenant: string;
  reason: 'fair-share' | 'priority';
  /** How long the attempt had run, seconds. */
  ranSeconds: number;
  /** Device-seconds of work not kept in a checkpoint (the whole attempt for jobs that keep none). */
  lostDeviceSeconds: number;
  /** The preemptor tenant's share of the matching slots when it was decided, and its target (0..1). */
  share: number;
  target: number;
}
