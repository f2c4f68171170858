// Dispatches a job spec to its handler; reports the FLOPs it executed for usage accounting.
import type { JobSpec } from '../../shared/job-spec.ts';
import type { JobContext } from './job-context.ts';
import { runMatmulJob } from './matmul-job.ts';
import { runNoopJob } from './noop-job.ts';
import { runTrainJob } from './train-job.ts';
import { runInferJob } from './infer-job.ts';

export async function runJob(spec: JobSpec, ctx: JobContext): Promise<{ result: unknown; flops: number }> {
  switch (spec.type) {
    case 'matmul': {
      const { m, n, k, repeats } = spec.params;
      return { result: await runMatmulJob(spec.params, ctx), flops: 2 * m * n * k * repeats };
    }
    case 'noop':
      return { result: await runNoopJob(spec.params, ctx), flops: 0 };
    case 'train':
      return { result: await runTrainJob(spec.params, ctx), flops: 0 };
    case 'infer':
      return { result: await runInferJob(spec.params, ctx), flops: 0 };
  }
}
