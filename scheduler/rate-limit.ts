// Per-tenant API request rate limit, counted in Redis so that it holds across scheduler
// replicas: a fixed one-minute window per tenant (INCR, and PEXPIRE on the window's first
// request, in one script). Fixed windows let a tenant burst up to twice the limit across a
// window's edge; that is the price of one key and one round trip per request.
import type { FastifyInstance } from 'fastify';
import { ApiError } from './api-error.ts';
import type { SchedulerContext } from './context.ts';

const WINDOW_MS = 60_000;

// KEYS: the window's counter. ARGV: window ms. Returns { count, ms left in the window }.
const COUNT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { n, redis.call('PTTL', KEYS[1]) }
`;

/**
 * After authentication: a tenant's request over its limit answers 429 rate_limited with
 * Retry-After (seconds until the window ends). Operators (admin tokens) are not limited.
 */
export function rateLimitHook(app: FastifyInstance, ctx: SchedulerContext, defaultPerMinute: number): void {
  app.addHook('onRequest', async (req, reply) => {
    const tenant = req.caller?.tenant;
    if (!tenant) return;
    const limit = tenant.rateLimitPerMinute ?? defaultPerMinute;
    if (limit <= 0) return;
    const now = Date.now();
    const window = Math.floor(now / WINDOW_MS);
    const [count, pttl] = (await ctx.redis.eval(COUNT, 1, ctx.keys.rate(tenant.name, window), WINDOW_MS)) as [
      number,
      number,
    ];
    if (count <= limit) return;
    const retryAfter = Math.max(1, Math.ceil((pttl > 0 ? pttl : WINDOW_MS - (now % WINDOW_MS)) / 1000));
    reply.header('Retry-After', String(retryAfter));
    throw new ApiError(
      429,
      'rate_limited',
      `tenant ${tenant.name} made more than ${limit} API requests this minute; try again in ${retryAfter} s ` +
        '(submit jobs in batches: one request takes many)',
      { limitPerMinute: limit, retryAfterSeconds: retryAfter },
    );
  });
}
