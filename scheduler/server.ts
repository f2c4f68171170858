// The scheduler's HTTP API (Fastify).
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from '../shared/logger.ts';
import { isRedisUnavailable } from '../shared/redis.ts';
import { ApiError } from './api-error.ts';
import type { SchedulerContext } from './context.ts';
import { authHook } from './auth.ts';
import { rateLimitHook } from './rate-limit.ts';
import { jobRoutes } from './routes/jobs.ts';
import { jobCurveRoutes } from './routes/job-curve.ts';
import { kernelRoutes } from './routes/kernels.ts';
import { tenantRoutes } from './routes/tenants.ts';
import { workerRoutes } from './routes/workers.ts';
import { openApiRoute } from './routes/openapi.ts';
import { artifactRoutes } from './routes/artifacts.ts';
import { consoleRoutes, isConsolePath } from './console/routes.ts';

/** What a client waits before trying again after a 503 redis_unavailable (seconds). */
export const REDIS_RETRY_AFTER_SECONDS = 5;
/** Routes that answer without Redis: the process's own health, its metrics, the API description. */
const WITHOUT_REDIS = new Set(['/livez', '/readyz', '/healthz', '/metrics', '/v1/openapi.json']);

export interface ServerOptions {
  bodyLimit: number;
  uploadLimit: number;
  /** The whole request must arrive within this (ms); default Node's 300 s. */
  requestTimeoutMs?: number;
  /** The request's headers must arrive within this (ms); default 10 s. */
  headersTimeoutMs?: number;
  /**
   * Whether Redis answers now (default: the connection is ready). False: every route that needs
   * Redis answers 503 redis_unavailable at once, and /readyz 503.
   */
  redisUp?: () => boolean;
  /**
   * Whether this replica holds the dispatch lease (default: yes, a lone server). Only the holder
   * exports bullmq_job_count, a gauge of global state (see gauges.ts).
   */
  leading?: () => boolean;
  /** API requests per tenant per minute, over all replicas; 0 or absent: no limit (rate-limit.ts). */
  rateLimitPerMinute?: number;
}

export function buildServer(ctx: SchedulerContext, log: Logger, o: ServerOptions): FastifyInstance {
  const redisUp = o.redisUp ?? (() => ctx.redis.status === 'ready');
  const requestTimeout = o.requestTimeoutMs ?? 300_000;
  const unavailable = () =>
    new ApiError(
      503,
      'redis_unavailable',
      `the scheduler cannot reach Redis; try again in ${REDIS_RETRY_AFTER_SECONDS} s (operators: see /readyz and the scheduler log)`,
    );
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: o.bodyLimit,
    // One log line per request is too much at thousands of jobs/s; metrics cover requests.
    logController: new LogController({ disableRequestLogging: true }),
    // Slow clients must not pin connections: 10 s for the headers, a bound on the whole request,
    // and a socket idle for 30 s is closed. (Node checks the first two every second; the
    // headers' bound cannot exceed the request's.)
    http: { headersTimeout: Math.min(o.headersTimeoutMs ?? 10_000, requestTimeout), connectionsCheckingInterval: 1000 },
    requestTimeout,
    connectionTimeout: 30_000,
    // Errors the router answers before any handler (a too-long id: 414; a bad URL: 400) take
    // the one error shape too.
    frameworkErrors: (err, _req, reply) => {
      const e = err as { statusCode?: number; code?: string; message: string };
      const status = e.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : (e.statusCode ?? 400);
      const body = new ApiError(status, (e.code ?? 'bad_request').toLowerCase(), e.message).toJSON();
      (reply as FastifyReply).code(status).send(body);
    },
  }) as unknown as FastifyInstance;

  // Before authentication (which reads Redis): fail fast instead of queueing commands for a
  // Redis that is not there.
  app.addHook('onRequest', async (req, reply) => {
    if (redisUp() || WITHOUT_REDIS.has(req.url.split('?')[0]) || isConsolePath(req.url)) return;
    reply.header('Retry-After', String(REDIS_RETRY_AFTER_SECONDS));
    throw unavailable();
  });

  app.addHook('onResponse', async (req, reply) => {
    ctx.metrics.httpDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof ApiError) return reply.code(err.status).send(err.toJSON());
    // A command that timed out or found the connection gone: Redis froze or went away mid-request.
    if (isRedisUnavailable(err) || !redisUp()) {
      req.log.warn({ err: (err as Error).message }, 'request failed: Redis unavailable');
      reply.header('Retry-After', String(REDIS_RETRY_AFTER_SECONDS));
      return reply.code(503).send(unavailable().toJSON());
    }
    const e = err as { statusCode?: number; code?: string; message: string };
    // Fastify's own client errors (bad JSON, body too large, wrong content type).
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return reply
        .code(e.statusCode)
        .send(new ApiError(e.statusCode, (e.code ?? 'bad_request').toLowerCase(), e.message).toJSON());
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send(new ApiError(500, 'internal', 'internal error; see the scheduler log').toJSON());
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(new ApiError(404, 'not_found', `no route ${req.method} ${req.url}`).toJSON()),
  );

  // Liveness: the process serves HTTP. Readiness: it can serve the API (Redis answers); /healthz
  // is readiness, as it always was. Neither waits on Redis: they read what RedisHealth saw.
  app.get('/livez', async () => ({ ok: true }));
  const readiness = async (_req: FastifyRequest, reply: FastifyReply) => {
    const redis = redisUp();
    if (!redis) reply.code(503);
    return { ok: redis, redis };
  };
  app.get('/readyz', readiness);
  app.get('/healthz', readiness);

  app.get('/metrics', async (req, reply) => {
    const up = redisUp();
    ctx.metrics.redisUp.set(up ? 1 : 0);
    // BullMQ's own queue gauges (bullmq_job_count{queue,state}) are exported here once, by the
    // lease holder; without Redis they are left out, so the scrape still shows usine_redis_up 0.
    const bullmq =
      up && (o.leading?.() ?? true)
        ? await bullmqMetrics(ctx).catch((err: Error) => {
            req.log.warn({ err: err.message }, 'bullmq_job_count left out of /metrics');
            return '';
          })
        : '';
    reply.header('Content-Type', ctx.metrics.registry.contentType);
    return (await ctx.metrics.registry.metrics()) + '\n' + bullmq + '\n';
  });

  authHook(app, ctx);
  rateLimitHook(app, ctx, o.rateLimitPerMinute ?? 0);
  jobRoutes(app, ctx);
  jobCurveRoutes(app, ctx);
  tenantRoutes(app, ctx);
  workerRoutes(app, ctx);
  kernelRoutes(app, ctx);
  artifactRoutes(app, ctx, o.uploadLimit);
  openApiRoute(app);
  consoleRoutes(app, log);
  return app;
}

/** BullMQ's own `bullmq_job_count{queue,state}` for every job queue, with one HELP/TYPE header. */
async function bullmqMetrics(ctx: SchedulerContext): Promise<string> {
  const parts = await Promise.all(
    (await ctx.queues.list()).map((q) => ctx.queues.queue(q.name).exportPrometheusMetrics()),
  );
  const samples = parts.flatMap((p) => p.split('\n').filter((l) => l.startsWith('bullmq_job_count{')));
  if (samples.length === 0) return '';
  return [
    '# HELP bullmq_job_count Number of jobs in the queue by state',
    '# TYPE bullmq_job_count gauge',
    ...samples,
  ].join('\n');
}
