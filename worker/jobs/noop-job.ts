// The noop job: holds a device slot for `sleepMs` and returns. It measures the scheduler
// itself (dispatch cost, fairness) without GPU work.
import type { NoopParams } from '../../shared/job-spec.ts';
import type { JobContext } from './job-context.ts';

export async function runNoopJob(p: NoopParams, ctx: JobContext): Promise<{ sleptMs: number }> {
  if (p.sleepMs > 0) {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, p.sleepMs);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(t);
        reject(ctx.signal.reason);
      });
    });
  }
  return { sleptMs: p.sleepMs };
}
