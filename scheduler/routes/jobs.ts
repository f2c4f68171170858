// /v1/jobs: submit and follow jobs.
import type { FastifyInstance } from 'fastify';
import { jobSpec, describeIssues } from '../../shared/job-spec.ts';
import { ApiError } from '../api-error.ts';
import type { SchedulerContext } from '../context.ts';

export function jobRoutes(app: FastifyInstance, ctx: SchedulerContext): void {
  app.post('/v1/jobs', async (req, reply) => {
    const parsed = jobSpec.safeParse(req.body);
    if (!parsed.success) {
      const details = describeIssues(parsed.error);
      throw new ApiError(400, 'invalid_spec', `invalid job spec: ${details.map((d) => `${d.field}: ${d.reason}`).join('; ')}`, details);
    }
    const tenant = 'default';
    const created = await ctx.store.submit(parsed.data, tenant);
    ctx.metrics.submitted.inc({ tenant, type: parsed.data.type });
    req.log.info({ job: created.id, tenant, type: parsed.data.type }, 'job submitted');
    return reply.code(201).send(created);
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', async (req) => {
    const view = await ctx.store.get(req.params.id);
    if (!view) throw new ApiError(404, 'not_found', `no job with id ${req.params.id}`);
    return view;
  });
}
