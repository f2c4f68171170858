// What the workers recorded, over the API: the live workers' adapters (GET /v1/workers), the
// configs their autotuners chose with the time and GFLOP/s of each (GET /v1/kernels/tuning, the
// tuning store), and the GFLOP/s of the tenant's finished matmul jobs (GET /v1/jobs).
import type { JobView, MatmulResult } from '../../../../shared/job-view.ts';
import type { TuningList } from '../../../../shared/kernel-tuning.ts';
import { api } from '../api.ts';

export interface RecordedWorker {
  name: string;
  adapter: string;
  region: string;
  features: string[];
}

export interface RecordedMatmul {
  job: string;
  worker: string | null;
  adapter: string;
  size: string;
  gflops: number;
  finishedAt: string | null;
}

/** One tuned shape class: the config a worker's tuner chose for it, timed on `size`. */
export interface RecordedTuning {
  kernel: string;
  adapter: string;
  /** e.g. "f32|1024x1024x1024|nn". */
  bucket: string;
  /** The bucket's first field (matmul: f32 or f16). */
  dtype: string;
  /** As the browser's benchmark names sizes: `N`, or `MxNxK`. */
  size: string;
  config: string;
  ms: number;
  /** Computed by the scheduler; null where it knows no formula for the kernel. */
  gflops: number | null;
  tunedAt: string;
}

export interface Recorded {
  workers: RecordedWorker[];
  tunings: RecordedTuning[];
  matmuls: RecordedMatmul[];
}

/** `N` for a cube, else the dims joined by x (m, n, k for matmul). */
function sizeName(shape: Record<string, number>): string {
  const dims = Object.values(shape);
  return dims.length > 0 && dims.every((d) => d === dims[0]) ? String(dims[0]) : dims.join('x');
}

/** A GET through the console's one API helper (its token, its error shape, its connection banner). */
const apiGet = <T>(path: string): Promise<T> => api<T>('GET', path);

interface WorkerJson {
  name: string;
  adapter: string;
  caps?: { region?: string; features?: string[] };
}

export async function fetchRecorded(): Promise<Recorded> {
  const [w, t, j] = await Promise.all([
    apiGet<{ workers: WorkerJson[] }>('/v1/workers'),
    apiGet<TuningList>('/v1/kernels/tuning'),
    apiGet<{ jobs: JobView[] }>('/v1/jobs?type=matmul&state=succeeded&limit=100'),
  ]);
  return {
    workers: w.workers.map((x) => ({
      name: x.name,
      adapter: x.adapter,
      region: x.caps?.region ?? '',
      features: x.caps?.features ?? [],
    })),
    tunings: t.tunings.flatMap((k) =>
      k.entries.map((e) => ({
        kernel: k.kernel,
        adapter: k.adapter,
        bucket: e.bucket,
        dtype: e.bucket.split('|')[0],
        size: sizeName(e.shape),
        config: e.configKey ?? JSON.stringify(e.config),
        ms: e.ms,
        gflops: e.gflops,
        tunedAt: e.tunedAt,
      })),
    ),
    matmuls: j.jobs.flatMap((job) => {
      const r = job.result as Partial<MatmulResult> | null;
      if (!r || typeof r.gflops !== 'number') return [];
      return [
        {
          job: job.id,
          worker: job.worker,
          adapter: r.adapter ?? '',
          size: r.m === r.n && r.n === r.k ? String(r.m) : `${r.m}x${r.n}x${r.k}`,
          gflops: r.gflops,
          finishedAt: job.finishedAt,
        },
      ];
    }),
  };
}
