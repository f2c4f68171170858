// What a job handler gets from the worker that runs it.
import type { Matmul } from '../../kernels/matmul/matmul.ts';
import type { AdapterDescription } from '../../kernels/device.ts';
import type { JobProgress } from '../../shared/job-view.ts';
import type { WorkerMetrics } from '../metrics.ts';
import type { Logger } from '../../shared/logger.ts';
import type { ArtifactStore } from '../../shared/artifact-store.ts';
import type { CurvePoint } from '../../shared/job-curve.ts';

export interface GpuContext {
  device: GPUDevice;
  info: AdapterDescription;
  label: string;
  matmul: Matmul;
}

export interface JobContext {
  jobId: string;
  tenant: string;
  gpu: GpuContext;
  /** Where outputs too large for the inline result go. */
  artifacts: ArtifactStore;
  metrics: WorkerMetrics;
  log: Logger;
  /** Aborted when the job is cancelled, times out, is preempted (reason `preempted`) or the worker shuts down. */
  signal: AbortSignal;
  progress(p: JobProgress): Promise<void>;
  /** The job saved a checkpoint: a preemption now would lose only the work since (the heartbeat says so). */
  checkpointed(): void;
  /** A line for the job's own log (`usine logs`), e.g. "resumed from step 1800". */
  note(line: string): void;
  /** Stores a batch of a train job's curve points (GET /v1/jobs/:id/curve); the recorder batches the calls. */
  curve(points: CurvePoint[]): Promise<void>;
}
