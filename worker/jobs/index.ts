// Dispatches a job spec to its handler; reports the FLOPs it executed for usage accounting.
import type { QueuedSpec } from '../../shared/queues.ts';
import type { JobContext } from './job-context.ts';
import { runMatmulJob } from './matmul-job.ts';
import { runNoopJob } from './noop-job.ts';
import { runTrainJob } from './train-job.ts';
import { parameterCount } from '../../shared/train/parameters.ts';
import { runInferJob } from './infer-job.ts';

export async function runJob(spec: QueuedSpec, ctx: JobContext): Promise<{ result: unknown; flops: number }> {
  switch (spec.type) {
    case 'matmul': {
      const { m, n, k, repeats } = spec.params;
      return { result: await runMatmulJob(spec.params, ctx), flops: 2 * m * n * k * repeats };
    }
    case 'noop':
      return { result: await runNoopJob(spec.params, ctx), flops: 0 };
    case 'train': {
      const r = await runTrainJob(spec.params, ctx);
      // The usual estimate: 6 FLOPs per parameter per token (forward 2, backward 4).
      const tokens = r.tokensPerSecond * r.seconds;
      return { result: r, flops: 6 * parameterCount(spec.params.model) * tokens };
    }
    case 'infer':
      return { result: await runInferJob(spec.params, ctx), flops: 0 };
  }
}
