// What the API returns for a job: the contract between scheduler and client.
import type { JobType } from './job-spec.ts';
import type { LastPreemption } from './queues.ts';

export type JobState = 'queued' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';
export const FINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

export interface JobProgress {
  percent: number;
  message?: string;
  [figure: string]: unknown;
}

export interface MatmulResult {
  adapter: string;
  m: number;
  n: number;
  k: number;
  /** Median kernel time over the repeats, milliseconds. */
  ms: number;
  gflops: number;
  /** Sum of all output entries. */
  checksum: number;
  check: { samples: number; maxAbsError: number; tolerance: number; passed: boolean };
  /** With saveOutput: the artifact holding C. */
  output?: { artifact: string; bytes: number; format: string };
}

export interface JobView {
  id: string;
  type: JobType;
  tenant: string;
  state: JobState;
  priority: number;
  /** While queued: why the job waits (no matching worker online, tenant at its limit, …). */
  waitingFor?: string | null;
  progress: JobProgress | null;
  result: unknown;
  error: string | null;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  worker: string | null;
  /** How often the job was preempted (stopped and requeued to free its slot); 0 if never. */
  preemptions: number;
  /** Its last preemption, or null. */
  lastPreemption: LastPreemption | null;
}

const percent = (x: number) => `${Math.round(x * 100)} %`;

/** "after 312 s on worker w3 for tenant uni-lab (share 8 % of a 50 % target)": for `usine status` and the job log. */
export function describePreemption(p: LastPreemption): string {
  const where = `after ${Math.round(p.ranSeconds)} s on worker ${p.worker}`;
  return p.reason === 'priority'
    ? `${where} for a higher-priority job of tenant ${p.forTenant}`
    : `${where} for tenant ${p.forTenant} (share ${percent(p.share)} of a ${percent(p.target)} target)`;
}
