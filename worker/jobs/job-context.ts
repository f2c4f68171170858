// What a job handler gets from the worker that runs it.
import type { Matmul } from '../../kernels/matmul/matmul.ts';
import type { AdapterDescription } from '../../kernels/device.ts';
import type { JobProgress } from '../../shared/job-view.ts';
import type { WorkerMetrics } from '../metrics.ts';
import type { Logger } from '../../shared/logger.ts';

export interface GpuContext {
  device: GPUDevice;
  info: AdapterDescription;
  label: string;
  matmul: Matmul;
}

export interface JobContext {
  gpu: GpuContext;
  metrics: WorkerMetrics;
  log: Logger;
  /** Aborted when the job is cancelled or the worker shuts down. */
  signal: AbortSignal;
  progress(p: JobProgress): Promise<void>;
}
