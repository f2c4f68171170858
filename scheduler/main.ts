// The usine scheduler daemon: HTTP API, job store in Redis/BullMQ, metrics.
import { QueueEvents, Job } from 'bullmq';
import { loadConfig, schedulerEnv, ConfigError } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { connectRedis } from '../shared/redis.ts';
import { JOBS_QUEUE, type JobData } from '../shared/queues.ts';
import { JobStore, CANCELLED_REASON } from './job-store.ts';
import { SchedulerMetrics } from './metrics.ts';
import { buildServer } from './server.ts';

let cfg;
try {
  cfg = loadConfig(schedulerEnv);
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`usine scheduler: ${e.message}`);
    process.exit(2);
  }
  throw e;
}
const log = createLogger('scheduler', cfg.LOG_LEVEL);
const redis = connectRedis(cfg.REDIS_URL);
redis.on('error', (err) => log.error({ err: err.message }, 'redis error'));
const store = new JobStore(redis, cfg.USINE_QUEUE_PREFIX, cfg.USINE_RETENTION_SECONDS);
const metrics = new SchedulerMetrics(['default']);

// Final states are observed from BullMQ's event stream, whichever worker produced them.
const events = new QueueEvents(JOBS_QUEUE, { connection: connectRedis(cfg.REDIS_URL), prefix: cfg.USINE_QUEUE_PREFIX });
async function observeFinished(jobId: string, outcome: 'succeeded' | 'failed' | 'cancelled') {
  const job = await Job.fromId<JobData>(store.queue, jobId);
  if (!job) return;
  const labels = { tenant: job.data.tenant, type: job.data.spec.type };
  if (outcome === 'failed' && job.failedReason === CANCELLED_REASON) outcome = 'cancelled';
  metrics.finished.inc({ ...labels, outcome });
  if (job.processedOn) {
    metrics.queueWait.observe(labels, Math.max(0, job.processedOn - job.timestamp) / 1000);
    if (job.finishedOn) metrics.runTime.observe(labels, Math.max(0, job.finishedOn - job.processedOn) / 1000);
  }
}
events.on('completed', ({ jobId }) => void observeFinished(jobId, 'succeeded').catch((err) => log.warn({ err }, 'metrics')));
events.on('failed', ({ jobId }) => void observeFinished(jobId, 'failed').catch((err) => log.warn({ err }, 'metrics')));

const app = buildServer({ redis, store, metrics }, log, cfg.USINE_BODY_LIMIT_BYTES);
await app.listen({ host: cfg.USINE_HOST, port: cfg.USINE_PORT });
const base = `http://${cfg.USINE_HOST}:${cfg.USINE_PORT}`;
log.info({ api: `${base}/v1/jobs`, metrics: `${base}/metrics`, redis: cfg.REDIS_URL }, `scheduler listening on ${base}`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) process.exit(130);
  stopping = true;
  log.info({ signal }, 'scheduler shutting down');
  await app.close();
  await events.close();
  await store.close();
  await redis.quit().catch(() => {});
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
