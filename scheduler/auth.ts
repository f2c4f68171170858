// Who is calling: a tenant (by its token), an operator (admin token), or — in open mode,
// for local development only — everyone as the default tenant with admin rights.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './api-error.ts';
import type { SchedulerContext } from './context.ts';
import { DEFAULT_TENANT, type Tenant } from './state/tenants.ts';
import { isConsolePath } from './console/routes.ts';

export interface Caller {
  admin: boolean;
  tenant: Tenant | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
  }
}

const PUBLIC = new Set(['/livez', '/readyz', '/healthz', '/metrics', '/v1/openapi.json']);

export function authHook(app: FastifyInstance, ctx: SchedulerContext): void {
  app.decorateRequest('caller', null as unknown as Caller);
  app.addHook('onRequest', async (req) => {
    // The console's page and script hold no data: the calls they make carry the token.
    if (PUBLIC.has(req.url.split('?')[0]) || isConsolePath(req.url)) return;
    if (ctx.openMode) {
      req.caller = { admin: true, tenant: (await ctx.tenants.get('default')) ?? DEFAULT_TENANT };
      return;
    }
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!token) {
      ctx.metrics.refusals.inc({ tenant: 'unknown', reason: 'unauthorized' });
      throw new ApiError(
        401,
        'unauthorized',
        'missing API token: send "Authorization: Bearer <token>" (usine --token or USINE_TOKEN)',
      );
    }
    const who = await ctx.tenants.authenticate(token);
    if (!who) {
      ctx.metrics.refusals.inc({ tenant: 'unknown', reason: 'unauthorized' });
      throw new ApiError(401, 'unauthorized', 'invalid API token');
    }
    req.caller = { admin: who.admin, tenant: who.tenant };
  });
}

export function requireAdmin(req: FastifyRequest): void {
  if (!req.caller.admin) {
    throw new ApiError(403, 'forbidden', 'this needs an operator (admin) token');
  }
}

/** The tenant a request acts for: the caller's own, or — for an admin — `?tenant=` when given. */
export function actingTenant(req: FastifyRequest, requested?: string): string {
  if (req.caller.admin && requested) return requested;
  if (req.caller.tenant) return req.caller.tenant.name;
  throw new ApiError(403, 'forbidden', 'an admin token acts for no tenant: pass ?tenant=NAME, or use a tenant token');
}

/** Whether the caller may see a job of `tenant` (others' jobs are reported as not found). */
export function canSee(req: FastifyRequest, tenant: string): boolean {
  return req.caller.admin || req.caller.tenant?.name === tenant;
}
