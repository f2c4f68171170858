// A usine worker: one WebGPU device, a fair-share dispatch loop over the tenants' queues,
// heartbeats to the worker table, and /metrics.
import http from 'node:http';
import path from 'node:path';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { loadConfig, workerEnv, ConfigError } from '../shared/config.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import { connectRedis } from '../shared/redis.ts';
import { openDevice, adapterLabel } from '../kernels/device.ts';
import { InputError } from '../kernels/errors.ts';
import { Matmul } from '../kernels/matmul/matmul.ts';
import { MatmulTuner } from '../kernels/autotune/matmul-tuner.ts';
import { FairPuller } from '../scheduler/queue/fair-puller.ts';
import { Keys } from '../scheduler/state/keys.ts';
import { WorkerRegistry } from '../scheduler/state/workers.ts';
import type { DeviceCaps } from '../scheduler/policy/matching.ts';
import { WorkerMetrics } from './metrics.ts';
import { ArtifactStore } from '../shared/artifact-store.ts';
import { powerWatts } from './power.ts';
import { runJob } from './jobs/index.ts';
import { JobLog } from './job-log.ts';
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
  // Stop taking jobs and hand the running ones back (they fail here anyway), leave the
  // worker table so nothing is matched to this device, then exit after the grace period.
  clearInterval(beats);
  void registry.remove(id).catch(() => {});
  void puller.stop(true).catch(() => {});
  setTimeout(() => process.exit(3), DEVICE_LOST_GRACE_MS).unref();
});
const gpuCtx = { device: gpu.device, info: gpu.info, label, matmul: new Matmul(gpu.device) };
const artifacts = new ArtifactStore(cfg.USINE_ARTIFACT_DIR);
const caps: DeviceCaps = {
  vendor: gpu.info.vendor,
  architecture: gpu.info.architecture,
  device: gpu.info.device,
  backend: gpu.info.backend,
  features: cfg.USINE_WORKER_FEATURES !== undefined ? cfg.USINE_WORKER_FEATURES.split(',').map((f) => f.trim()).filter((f) => gpu.info.features.includes(f)) : gpu.info.features,
  limits: gpu.info.limits,
  region: cfg.USINE_WORKER_REGION,
};

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

// No auto-pipelining: it holds each command until the next tick to batch it, which costs the
// dispatch loop more in latency than it saves in syscalls (measured in process, draining 20,000
// no-op jobs: ~9,500 jobs/s with it, ~13,000 without).
const redis = connectRedis(cfg.REDIS_URL);
let soonBeat: NodeJS.Timeout | null = null;
redis.on('error', (err) => log.error({ err: err.message }, 'redis error'));
const keys = new Keys(cfg.USINE_QUEUE_PREFIX);
// Tile configs per (adapter, dtype, shape bucket), shared through Redis and a file: a worker
// reuses what any worker with the same adapter measured.
const tuner = new MatmulTuner(gpuCtx.matmul, { redis, dir: path.join(cfg.USINE_DATA_DIR, 'tuning'), onFirstUse: cfg.USINE_MATMUL_AUTOTUNE === 'first-use', log: (line) => log.info({ tuner: 'matmul' }, line) });
await tuner.load();
const puller = new FairPuller({
  redis,
  subscriber: connectRedis(cfg.REDIS_URL),
  keys,
  prefix: cfg.USINE_QUEUE_PREFIX,
  workerName: name,
  caps,
  concurrency: cfg.USINE_WORKER_CONCURRENCY,
  halfLifeSeconds: cfg.USINE_FAIR_SHARE_HALF_LIFE_SECONDS,
  catchUpSeconds: cfg.USINE_FAIR_SHARE_CATCH_UP_SECONDS,
  lockMs: cfg.USINE_WORKER_LOCK_SECONDS * 1000,
  // An estimate for the tenants' energy figures, the same as the worker's own counter.
  powerWatts: power.watts,
  log,
  // The worker table shows running jobs within ~0.2 s, not only at the next 2 s heartbeat.
  onRunningChange: () => {
    soonBeat ??= setTimeout(() => {
      soonBeat = null;
      void heartbeat();
    }, 200);
  },
  process: async (job, signal) => {
    const { spec, tenant } = job.data;
    const attempt = job.attemptsMade + 1;
    // The job's child logger only when something uses it: most jobs log one line, below.
    let jlog: Logger | undefined;
    const jobLogger = () => (jlog ??= log.child({ job: job.id, tenant, type: spec.type }));
    if (log.isLevelEnabled('debug')) jobLogger().debug({ attempt }, 'job started');
    const jobLog = new JobLog(redis, job, `attempt ${attempt} started on worker ${name} (${label})`);
    const t0 = performance.now();
    const ctx: JobContext = {
      jobId: job.id!,
      tenant,
      gpu: gpuCtx,
      artifacts,
      metrics,
      get log() {
        return jobLogger();
      },
      signal,
      progress: (p) => job.updateProgress(p),
    };
    try {
      const out = await runJob(spec, ctx);
      metrics.jobsFinished.inc({ type: spec.type, outcome: 'succeeded' });
      const ms = Math.round(performance.now() - t0);
      // One info line per job (at its end); its bindings inline, no child logger per job.
      log.info({ job: job.id, tenant, type: spec.type, attempt, ms }, 'job succeeded');
      jobLog.succeeded();
      return out;
    } catch (e) {
      const outcome = signal.aborted ? (signal.reason === 'timeout' ? 'failed' : 'cancelled') : 'failed';
      metrics.jobsFinished.inc({ type: spec.type, outcome });
      const ms = Math.round(performance.now() - t0);
      jobLogger().warn({ err: e, attempt, ms, reason: signal.aborted ? String(signal.reason) : undefined }, `job ${outcome}`);
      jobLog.ended(`${outcome} after ${ms} ms: ${(e as Error).message ?? e}`);
      // Bad input never succeeds on retry.
      if (e instanceof InputError) throw new UnrecoverableError(e.message);
      throw e;
    } finally {
      metrics.jobDuration.observe({ type: spec.type }, (performance.now() - t0) / 1000);
    }
  },
});

const registry = new WorkerRegistry(redis, keys, 10_000);
const id = `${name}-${randomUUID().slice(0, 8)}`;
const startedAt = new Date().toISOString();
const heartbeat = () =>
  registry
    .heartbeat({ id, name, caps, adapter: label, concurrency: cfg.USINE_WORKER_CONCURRENCY, running: puller.running(), startedAt, lastHeartbeat: '' })
    .catch((err) => log.warn({ err: err.message }, 'heartbeat failed'));
await heartbeat();
const beats = setInterval(heartbeat, 2000);
await puller.start();
log.info(
  { adapter: gpu.info, region: caps.region, powerWatts: power.watts, powerSource: power.source, concurrency: cfg.USINE_WORKER_CONCURRENCY, metrics: `http://${cfg.USINE_WORKER_HOST}:${cfg.USINE_WORKER_METRICS_PORT}/metrics` },
  `worker ready on ${label}`,
);
// Out now, not with the next 4 KiB of lines: supervisors and tests wait for this one.
log.flush();

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) {
    // Second signal: stop now; the running jobs stall and BullMQ hands them to another worker.
    log.warn('forced shutdown: running jobs will be retried elsewhere');
    process.exit(130);
  }
  stopping = true;
  log.info({ signal }, 'shutting down: finishing running jobs (send the signal again to stop now)');
  await puller.stop();
  clearInterval(beats);
  await registry.remove(id).catch(() => {});
  await redis.quit().catch(() => {});
  metricsServer.close();
  gpu.close();
  log.info('worker stopped');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
