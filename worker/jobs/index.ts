// Dispatches a job spec to its handler.
import type { JobSpec } from '../../shared/job-spec.ts';
import type { JobContext } from './job-context.ts';
import { runMatmulJob } from './matmul-job.ts';

export async function runJob(spec: JobSpec, ctx: JobContext): Promise<unknown> {
  switch (spec.type) {
    case 'matmul':
      return runMatmulJob(spec.params, ctx);
  }
}
