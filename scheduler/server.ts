// The scheduler's HTTP API (Fastify).
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../shared/logger.ts';
import { ApiError } from './api-error.ts';
import type { SchedulerContext } from './context.ts';
import { authHook } from './auth.ts';
import { jobRoutes } from './routes/jobs.ts';
import { tenantRoutes } from './routes/tenants.ts';
import { workerRoutes } from './routes/workers.ts';
import { openApiRoute } from './routes/openapi.ts';
import { artifactRoutes } from './routes/artifacts.ts';

export function buildServer(
  ctx: SchedulerContext,
  log: Logger,
  bodyLimit: number,
  uploadLimit: number,
): FastifyInstance {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit,
    // One log line per request is too much at thousands of jobs/s; metrics cover requests.
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;

  app.addHook('onResponse', async (req, reply) => {
    ctx.metrics.httpDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof ApiError) return reply.code(err.status).send(err.toJSON());
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

  app.get('/healthz', async () => {
    const redis = (await ctx.redis.ping().catch(() => 'down')) === 'PONG';
    return { ok: redis, redis };
  });

  app.get('/metrics', async (_req, reply) => {
    // BullMQ's own queue gauges (bullmq_job_count{queue,state}) are exported here once.
    reply.header('Content-Type', ctx.metrics.registry.contentType);
    return (await ctx.metrics.registry.metrics()) + '\n' + (await bullmqMetrics(ctx)) + '\n';
  });

  authHook(app, ctx);
  jobRoutes(app, ctx);
  tenantRoutes(app, ctx);
  workerRoutes(app, ctx);
  artifactRoutes(app, ctx, uploadLimit);
  openApiRoute(app);
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
