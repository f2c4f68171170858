// /v1/workers and /v1/usage: the devices, and what tenants used of them.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { describeIssues } from '../../shared/job-spec.ts';
import { ApiError } from '../api-error.ts';
import type { SchedulerContext } from '../context.ts';
import type { UsageReport, WorkerList } from '../../shared/api-responses.ts';

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

export function workerRoutes(app: FastifyInstance, ctx: SchedulerContext): void {
  app.get('/v1/workers', async (): Promise<WorkerList> => ({ workers: await ctx.workers.live() }));

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
