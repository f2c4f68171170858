// What the API returns for a job: the contract between scheduler and client.
import type { JobType } from './job-spec.ts';

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
}
