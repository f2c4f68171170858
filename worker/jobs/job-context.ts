// What a job handler gets from the worker that runs it.
import type { Matmul } from '../../kernels/matmul/matmul.ts';
import type { AdapterDescription } from '../../kernels/device.ts';
import type { JobProgress } from '../../shared/job-view.ts';
import type { WorkerMetrics } from '../metrics.ts';
import type { Logger } from '../../shared/logger.ts';
import type { ArtifactStore } from '../../shared/artifact-store.ts';

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
  /** Aborted when the job is cancelled or the worker shuts down. */
  signal: AbortSignal;
  progress(p: JobProgress): Promise<void>;
}
