// /v1/tenants (admin): the tenant table, and minting tokens.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { describeIssues } from '../../shared/job-spec.ts';
import { ApiError } from '../api-error.ts';
import { requireAdmin } from '../auth.ts';
import type { SchedulerContext } from '../context.ts';
import { tenantSchema, type Tenant } from '../state/tenants.ts';
import type { TokenMinted } from '../../shared/api-responses.ts';

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

export function tenantRoutes(app: FastifyInstance, ctx: SchedulerContext): void {
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
