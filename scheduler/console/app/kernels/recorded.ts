// What the workers recorded, over the existing API: the live workers' adapters (GET /v1/workers)
// and the GFLOP/s of the tenant's finished matmul jobs (GET /v1/jobs). The tuning store's
// figures are not served by the API yet.
import type { JobView, MatmulResult } from '../../../../shared/job-view.ts';

/** Where the console keeps the API token (open mode: none). */
export const TOKEN_KEY = 'usine.token';

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

export interface Recorded {
  workers: RecordedWorker[];
  matmuls: RecordedMatmul[];
}

async function apiGet<T>(path: string): Promise<T> {
  const token = globalThis.localStorage?.getItem(TOKEN_KEY);
  const res = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
    throw new Error(`GET ${path}: ${res.status} ${body?.error?.message ?? res.statusText}`);
  }
  return (await res.json()) as T;
}

interface WorkerJson {
  name: string;
  adapter: string;
  caps?: { region?: string; features?: string[] };
}

export async function fetchRecorded(): Promise<Recorded> {
  const [w, j] = await Promise.all([
    apiGet<{ workers: WorkerJson[] }>('/v1/workers'),
    apiGet<{ jobs: JobView[] }>('/v1/jobs?type=matmul&state=succeeded&limit=100'),
  ]);
  return {
    workers: w.workers.map((x) => ({
      name: x.name,
      adapter: x.adapter,
      region: x.caps?.region ?? '',
      features: x.caps?.features ?? [],
    })),
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
