// /v1/tenants (admin): the tenant table, and minting tokens. /v1/tenant: the caller's own
// tenant, its quotas and its standing against its fair share.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { describeIssues } from '../../shared/job-spec.ts';
import { ApiError } from '../api-error.ts';
import { requireAdmin } from '../auth.ts';
import type { SchedulerContext } from '../context.ts';
import { tenantSchema, type Tenant } from '../state/tenants.ts';
import type { TenantStanding, TokenMinted, WhoAmI } from '../../shared/api-responses.ts';
import { tenantStandings, type Standing } from '../tenant-standing.ts';

/** A tenant as the API shows it: token hashes are counted, not shown. */
export const publicTenantSchema = tenantSchema
  .omit({ tokenSha256: true })
  .extend({ tokens: z.number().int().describe('How many API tokens it has (only their hashes are stored).') });
export type PublicTenant = z.infer<typeof publicTenantSchema>;
export const tenantListSchema = z.object({ tenants: z.array(publicTenantSchema) });

function publicTenant(t: Tenant): PublicTenant {
  const { tokenSha256, ...rest } = t;
  return { ...rest, tokens: tokenSha256.length };
}

function standingView(s: Standing): TenantStanding {
  const { name, weight, maxRunning, maxQueued, regions, vendors, preemption, rateLimitPerMinute } = s.tenant;
  return {
    ...{ name, weight, maxRunning, maxQueued, regions, vendors, preemption },
    ...(rateLimitPerMinute !== undefined && { rateLimitPerMinute }),
    running: s.running,
    queued: s.queued,
    targetShare: s.targetShare,
    usageShare: s.usageShare,
    usageDeviceSeconds: s.usage,
  };
}

export const whoAmIQuery = z
  .object({ tenant: z.string().optional().describe('Operators: the tenant to show (a tenant token: its own only).') })
  .strict();

export function tenantRoutes(app: FastifyInstance, ctx: SchedulerContext): void {
  app.get('/v1/tenant', async (req): Promise<WhoAmI> => {
    const q = whoAmIQuery.safeParse(req.query);
    if (!q.success) throw new ApiError(400, 'invalid_query', 'invalid query', describeIssues(q.error));
    const caller = ctx.openMode ? 'open' : req.caller.admin ? 'admin' : 'tenant';
    const own = caller === 'admin' ? undefined : req.caller.tenant!.name;
    if (caller === 'tenant' && q.data.tenant !== undefined && q.data.tenant !== own)
      throw new ApiError(403, 'forbidden', `a tenant token shows its own tenant only (${own}): leave out ?tenant=`);
    const name = q.data.tenant ?? own;
    if (name === undefined) return { caller, tenant: null };
    const standing = (await tenantStandings(ctx)).find((s) => s.name === name);
    if (!standing) throw new ApiError(404, 'not_found', `no tenant ${name}: see GET /v1/tenants`);
    return { caller, tenant: standingView(standing) };
  });

  app.get('/v1/tenants', async (req): Promise<z.infer<typeof tenantListSchema>> => {
    requireAdmin(req);
    return { tenants: (await ctx.tenants.list()).map(publicTenant) };
  });

  app.put<{ Params: { name: string } }>('/v1/tenants/:name', async (req, reply) => {
    requireAdmin(req);
    const existing = await ctx.tenants.get(req.params.name);
    const body = { ...(req.body as object), name: req.params.name, tokenSha256: existing?.tokenSha256 ?? [] };
    const parsed = tenantSchema.safeParse(body);
    if (!parsed.success) {
      const details = describeIssues(parsed.error);
      throw new ApiError(
        400,
        'invalid_tenant',
        `invalid tenant: ${details.map((d) => `${d.field}: ${d.reason}`).join('; ')}`,
        details,
      );
    }
    await ctx.tenants.put(parsed.data);
    ctx.metrics.zeroTenant(parsed.data.name);
    return reply.code(existing ? 200 : 201).send(publicTenant(parsed.data));
  });

  app.delete<{ Params: { name: string } }>('/v1/tenants/:name', async (req, reply) => {
    requireAdmin(req);
    if (!(await ctx.tenants.remove(req.params.name)))
      throw new ApiError(404, 'not_found', `no tenant ${req.params.name}`);
    return reply.code(204).send();
  });

  app.post<{ Params: { name: string } }>('/v1/tenants/:name/tokens', async (req, reply) => {
    requireAdmin(req);
    const token = await ctx.tenants.mintToken(req.params.name);
    if (!token) throw new ApiError(404, 'not_found', `no tenant ${req.params.name}`);
    // The only time the token is shown: only its hash is stored.
    return reply.code(201).send({ tenant: req.params.name, token } satisfies TokenMinted);
  });
}
