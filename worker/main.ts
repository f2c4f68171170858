// A usine worker: one WebGPU device, a BullMQ worker taking jobs for it, /metrics.
import http from 'node:http';
import os from 'node:os';
import { Worker, UnrecoverableError, type Job } from 'bullmq';
import { loadConfig, workerEnv, ConfigError } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { connectRedis } from '../shared/redis.ts';
import { JOBS_QUEUE, type JobData } from '../shared/queues.ts';
import { openDevice, adapterLabel } from '../kernels/device.ts';
import { Matmul, ShapeError } from '../kernels/matmul/matmul.ts';
import { WorkerMetrics } from './metrics.ts';
import { powerWatts } from './power.ts';
import { runJob } from './jobs/index.ts';
import type { JobContext } from './jobs/job-context.ts';

let cfg;
try {
  cfg = loadConfig(workerEnv);
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`usine worker: ${e.message}`);
    process.exit(2);
  }
  throw e;
}
const name = cfg.USINE_WORKER_NAME || `${os.hostname()}-${process.pid}`;
const log = createLogger(`worker`, cfg.LOG_LEVEL).child({ worker: name });

const gpu = await openDevice({ adapter: cfg.USINE_ADAPTER || undefined, backend: cfg.USINE_BACKEND || undefined });
const label = adapterLabel(gpu.info);
const power = powerWatts(gpu.info, cfg.USINE_WORKER_POWER_WATTS);
const metrics = new WorkerMetrics(gpu.info, power.watts);
// After a device loss the worker keeps /metrics up this long so Prometheus scrapes the
// usine_worker_device_lost_total increment before the process exits and the counter resets.
const DEVICE_LOST_GRACE_MS = 20_000;
let deviceLost = false;
gpu.device.lost.then((info) => {
  if (info.reason === 'destroyed') return;
  deviceLost = true;
  metrics.deviceLost.inc();
  log.fatal({ reason: info.reason, message: info.message, graceMs: DEVICE_LOST_GRACE_MS }, 'device lost; exiting after the grace period so the supervisor restarts the worker');
  void worker.close(true).catch(() => {});
  setTimeout(() => process.exit(3), DEVICE_LOST_GRACE_MS).unref();
});
const gpuCtx = { device: gpu.device, info: gpu.info, label, matmul: new Matmul(gpu.device) };

const metricsServer = http.createServer(async (req, res) => {
  if (req.url === '/metrics') {
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.end(await metrics.registry.metrics());
  } else if (req.url === '/healthz') {
    res.statusCode = deviceLost ? 503 : 200;
    res.end(deviceLost ? 'device lost\n' : 'ok\n');
  } else {
    res.statusCode = 404;
    res.end('not found\n');
  }
});
await new Promise<void>((resolve, reject) => {
  metricsServer.once('error', reject);
  metricsServer.listen(cfg.USINE_WORKER_METRICS_PORT, cfg.USINE_WORKER_HOST, resolve);
});

const connection = connectRedis(cfg.REDIS_URL);
const worker = new Worker<JobData>(
  JOBS_QUEUE,
  async (job: Job<JobData>, _token, signal) => {
    const { spec, tenant } = job.data;
    const jlog = log.child({ job: job.id, tenant, type: spec.type });
    jlog.info('job started');
    const t0 = performance.now();
    const ctx: JobContext = {
      gpu: gpuCtx,
      metrics,
      log: jlog,
      signal: signal ?? new AbortController().signal,
      progress: (p) => job.updateProgress(p),
    };
    try {
      const result = await runJob(spec, ctx);
      await job.updateProgress({ percent: 100, message: 'done' });
      metrics.jobsFinished.inc({ type: spec.type, outcome: 'succeeded' });
      jlog.info({ ms: Math.round(performance.now() - t0) }, 'job succeeded');
      return result;
    } catch (e) {
      const cancelled = ctx.signal.aborted;
      metrics.jobsFinished.inc({ type: spec.type, outcome: cancelled ? 'cancelled' : 'failed' });
      jlog.warn({ err: e }, cancelled ? 'job cancelled' : 'job failed');
      // Bad input never succeeds on retry.
      if (e instanceof ShapeError) throw new UnrecoverableError(e.message);
      throw e;
    } finally {
      metrics.jobDuration.observe({ type: spec.type }, (performance.now() - t0) / 1000);
    }
  },
  { connection, prefix: cfg.USINE_QUEUE_PREFIX, concurrency: cfg.USINE_WORKER_CONCURRENCY, name },
);
worker.on('error', (err) => log.error({ err }, 'worker error'));
await worker.waitUntilReady();
log.info({ adapter: gpu.info, powerWatts: power.watts, powerSource: power.source, metrics: `http://${cfg.USINE_WORKER_HOST}:${cfg.USINE_WORKER_METRICS_PORT}/metrics` }, `worker ready on ${label}`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) {
    // Second signal: stop now; the active jobs stall and BullMQ hands them to another worker.
    log.warn('forced shutdown: active jobs will be retried elsewhere');
    process.exit(130);
  }
  stopping = true;
  log.info({ signal }, 'shutting down: finishing active jobs (send the signal again to stop now)');
  await worker.close();
  await connection.quit().catch(() => {});
  metricsServer.close();
  gpu.close();
  log.info('worker stopped');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
