// GET /v1/jobs/:id/curve?after=<step>: a train job's learning curve, the points after a step.
// The console loads the whole curve when a job page opens, then polls for new points; `usine wait`
// prints from it. Tenant-isolated like the job itself: another tenant's job is "not found".
import type { FastifyInstance } from 'fastify';
import { describeIssues } from '../../shared/job-spec.ts';
import { curveQuery, type JobCurve } from '../../shared/job-curve.ts';
import { ApiError } from '../api-error.ts';
import { canSee } from '../auth.ts';
import type { SchedulerContext } from '../context.ts';
import { CurveStore } from '../state/job-curve.ts';

export function jobCurveRoutes(app: FastifyInstance, ctx: SchedulerContext): void {
  const curves = new CurveStore(ctx.redis, ctx.keys);
  app.get<{ Params: { id: string } }>('/v1/jobs/:id/curve', async (req): Promise<JobCurve> => {
    const q = curveQuery.safeParse(req.query);
    if (!q.success) {
      const details = describeIssues(q.error);
      const text = details.map((d) => `${d.field}: ${d.reason}`).join('; ');
      throw new ApiError(400, 'invalid_query', `invalid query: ${text}`, details);
    }
    const { id } = req.params;
    const view = await ctx.store.get(id);
    if (!view || !canSee(req, view.tenant)) throw new ApiError(404, 'not_found', `no job with id ${id}`);
    const { points, more } = await curves.read(id, q.data.after, q.data.limit);
    const fromResult = (view.result as { steps?: unknown } | null)?.steps;
    const fromProgress = view.progress?.steps;
    const steps = typeof fromProgress === 'number' ? fromProgress : typeof fromResult === 'number' ? fromResult : null;
    return {
      id,
      state: view.state,
      steps: view.type === 'train' ? steps : null,
      points,
      next: points.at(-1)?.step ?? q.data.after,
      more,
    };
  });
}
