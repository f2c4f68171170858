// /v1/jobs: submit, follow, list, cancel jobs.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { jobSpec, jobBatch, describeIssues, type JobSpec } from '../../shared/job-spec.ts';
import type { JobView } from '../../shared/job-view.ts';
import type { JobList, JobLogs, Submitted, SubmittedBatch } from '../../shared/api-responses.ts';
import { ApiError } from '../api-error.ts';
import { Refusal } from '../admission.ts';
import { queueOfJobId } from '../queue/tenant-queues.ts';
import { actingTenant, canSee } from '../auth.ts';
import type { SchedulerContext } from '../context.ts';
import { DURABILITY_HEADER } from '../queue/durability.ts';

export const listQuery = z
  .object({
    state: z.enum(['queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled']).optional(),
    type: z.string().optional(),
    tenant: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(50),
  })
  .strict();

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const details = describeIssues(r.error);
  throw new ApiError(
    400,
    what === 'spec' ? 'invalid_spec' : 'invalid_query',
    `invalid ${what}: ${details.map((d) => `${d.field}: ${d.reason}`).join('; ')}`,
    details,
  );
}

export function jobRoutes(app: FastifyInstance, ctx: SchedulerContext): void {
  async function submit(req: FastifyRequest, reply: FastifyReply, specs: JobSpec[]): Promise<string[]> {
    const name = actingTenant(req, (req.query as { tenant?: string }).tenant);
    const tenant = await ctx.tenants.get(name);
    if (!tenant) throw new ApiError(404, 'not_found', `no tenant ${name}`);
    ctx.metrics.zeroTenant(name);
    let queues;
    try {
      queues = await ctx.admission.admit(tenant, specs);
    } catch (e) {
      if (e instanceof Refusal) ctx.metrics.refusals.inc({ tenant: name, reason: e.reason });
      throw e;
    }
    const ids = await ctx.store.add(specs.map((spec, i) => ({ spec, queue: queues[i] })));
    if (ctx.durability.mode !== 'none') {
      const replicated = await ctx.durability.confirm();
      reply.header(DURABILITY_HEADER, replicated ? 'replica' : 'primary-only');
      if (!replicated)
        req.log.warn(
          { tenant: name, jobs: ids.length, first: ids[0], timeoutMs: ctx.durability.timeoutMs },
          'jobs queued but not confirmed on a replica in time: a primary failure now could lose them',
        );
    }
    const byType = new Map<string, number>();
    for (const s of specs) byType.set(s.type, (byType.get(s.type) ?? 0) + 1);
    for (const [type, n] of byType) ctx.metrics.submitted.inc({ tenant: name, type }, n);
    req.log.info({ tenant: name, jobs: ids.length, first: ids[0] }, 'jobs submitted');
    return ids;
  }

  function specOrRefuse<T>(schema: z.ZodType<T>, req: FastifyRequest): T {
    try {
      return parse(schema, req.body, 'spec');
    } catch (e) {
      ctx.metrics.refusals.inc({ tenant: req.caller.tenant?.name ?? 'admin', reason: 'invalid_spec' });
      throw e;
    }
  }

  // Each body is typed by its schema in shared/ (the OpenAPI document's responses come from those).
  app.post('/v1/jobs', async (req, reply) => {
    const spec = specOrRefuse(jobSpec, req);
    const [id] = await submit(req, reply, [spec]);
    return reply.code(201).send({ id, state: 'queued' } satisfies Submitted);
  });

  app.post('/v1/jobs/batch', async (req, reply) => {
    const { jobs } = specOrRefuse(jobBatch, req);
    const ids = await submit(req, reply, jobs);
    return reply.code(201).send({ ids, state: 'queued' } satisfies SubmittedBatch);
  });

  async function visible(req: FastifyRequest, id: string): Promise<JobView> {
    const view = await ctx.store.get(id);
    // Another tenant's job is "not found": its existence is not theirs to learn.
    if (!view || !canSee(req, view.tenant)) throw new ApiError(404, 'not_found', `no job with id ${id}`);
    return view;
  }

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', async (req): Promise<JobView> => {
    const view = await visible(req, req.params.id);
    // A job held for its dependency says so already; one in a queue gets why it waits there.
    if (view.state === 'queued' && !view.waitingFor) {
      const queue = queueOfJobId(view.id);
      const info = queue && (await ctx.queues.list()).find((q) => q.name === queue);
      if (info) view.waitingFor = await ctx.admission.whyWaiting(info, await ctx.tenants.get(view.tenant));
    }
    return view;
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id/logs', async (req): Promise<JobLogs> => {
    await visible(req, req.params.id);
    return { id: req.params.id, logs: (await ctx.store.logs(req.params.id)) ?? [] };
  });

  app.post<{ Params: { id: string } }>('/v1/jobs/:id/cancel', async (req): Promise<JobView> => {
    await visible(req, req.params.id);
    const view = await ctx.store.cancel(req.params.id);
    // Gone between the two reads (removed by retention): as unknown as any other.
    if (!view) throw new ApiError(404, 'not_found', `no job with id ${req.params.id}`);
    if (view.state === 'cancelled')
      ctx.metrics.finished.inc({ tenant: view.tenant, type: view.type, outcome: 'cancelled' });
    return view;
  });

  app.get('/v1/jobs', async (req): Promise<JobList> => {
    const q = parse(listQuery, req.query, 'query');
    let queues = await ctx.queues.list();
    if (!req.caller.admin) queues = queues.filter((x) => x.tenant === req.caller.tenant!.name);
    if (q.tenant) queues = queues.filter((x) => x.tenant === q.tenant);
    // Jobs outside the queues (held, or cancelled while queued) are listed per tenant: one's own,
    // or for an admin the one named (null: all); none when a tenant names another.
    const own = req.caller.admin ? null : req.caller.tenant!.name;
    const tenant = own && q.tenant && q.tenant !== own ? undefined : (q.tenant ?? own);
    return { jobs: await ctx.store.list(queues, { state: q.state, type: q.type, limit: q.limit, tenant }) };
  });
}
