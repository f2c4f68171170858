// /v1/workers and /v1/usage: the devices, and what tenants used of them.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { describeIssues } from '../../shared/job-spec.ts';
import { ApiError } from '../api-error.ts';
import type { SchedulerContext } from '../context.ts';
import type { UsageReport, WorkerList, WorkerView } from '../../shared/api-responses.ts';
import type { WorkerRecord } from '../../shared/worker-view.ts';
import { queueOfJobId } from '../queue/tenant-queues.ts';

const DURATION = /^(\d+)([smhd])$/;
const UNIT = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 } as const;

/** "24h", "7d", or an ISO date → epoch ms. */
export function parseSince(v: string, now = Date.now()): number | null {
  const d = DURATION.exec(v);
  if (d) return now - Number(d[1]) * UNIT[d[2] as keyof typeof UNIT];
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

export const usageQuery = z.object({ since: z.string().default('24h'), until: z.string().optional() }).strict();

/**
 * A worker as `tenant` may see it (null: an operator, who sees everything): only that tenant's
 * jobs, and how many slots are busy. A job's tenant is the one its heartbeat gives, or the one
 * its id names (older workers send ids only); an id that names none is hidden.
 */
export function workerView(w: WorkerRecord, tenant: string | null): WorkerView {
  const busy = w.running.length;
  if (tenant === null) return { ...w, busy };
  const known = new Map(w.jobs?.map((j) => [j.id, j.tenant]));
  const owner = (id: string) => known.get(id) ?? (queueOfJobId(id) ? id.split('.')[0] : null);
  return {
    ...w,
    running: w.running.filter((id) => owner(id) === tenant),
    ...(w.jobs && { jobs: w.jobs.filter((j) => j.tenant === tenant) }),
    busy,
  };
}

export function workerRoutes(app: FastifyInstance, ctx: SchedulerContext): void {
  app.get('/v1/workers', async (req): Promise<WorkerList> => {
    const tenant = req.caller.admin ? null : req.caller.tenant!.name;
    return { workers: (await ctx.workers.live()).map((w) => workerView(w, tenant)) };
  });

  app.get('/v1/usage', async (req): Promise<UsageReport> => {
    const q = usageQuery.safeParse(req.query);
    if (!q.success) throw new ApiError(400, 'invalid_query', 'invalid query', describeIssues(q.error));
    const from = parseSince(q.data.since);
    const to = q.data.until ? parseSince(q.data.until) : Date.now();
    if (from === null || to === null)
      throw new ApiError(400, 'invalid_query', 'since/until: a duration like 24h or 7d, or an ISO date');
    let totals = await ctx.usage.totals(from, to);
    if (!req.caller.admin) totals = totals.filter((t) => t.tenant === req.caller.tenant!.name);
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), granularity: 'hour', tenants: totals };
  });
}
