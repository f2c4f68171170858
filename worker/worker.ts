// A usine worker as an app: one WebGPU device, a fair-share dispatch loop over the tenants'
// queues, heartbeats to the worker table, and /metrics. worker/main.ts runs one as a process;
// tests run one in-process.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { WorkerConfig } from '../shared/config.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import { connectRedis, redisTarget, within } from '../shared/redis.ts';
import { RedisHealth } from '../shared/redis-health.ts';
import {
  openDevice,
  adapterLabel,
  type AdapterDescription,
  type OpenDevice,
  type OpenOptions,
} from '../kernels/device.ts';
import { InputError } from '../kernels/errors.ts';
import { Matmul } from '../kernels/matmul/matmul.ts';
import { MatmulTuner } from '../kernels/autotune/matmul-tuner.ts';
import { FairPuller } from '../scheduler/queue/fair-puller.ts';
import { Keys } from '../scheduler/state/keys.ts';
import { CurveStore } from '../scheduler/state/job-curve.ts';
import { WorkerRegistry } from '../scheduler/state/workers.ts';
import type { DeviceCaps } from '../scheduler/policy/matching.ts';
import { WorkerMetrics } from './metrics.ts';
import { ArtifactStore } from '../shared/artifact-store.ts';
import { powerWatts } from './power.ts';
import { runJob } from './jobs/index.ts';
import { JobLog, appendJobLog } from './job-log.ts';
import { PREEMPTED_REASON } from '../shared/queues.ts';
import { describePreemption } from '../shared/job-view.ts';
import type { JobContext } from './jobs/job-context.ts';

// After a device loss the worker keeps /metrics up this long so Prometheus scrapes the
// usine_worker_device_lost_total increment before the process exits and the counter resets.
export const DEVICE_LOST_GRACE_MS = 20_000;

/** A connection whose errors the health check reports (one line per outage, not one per retry). */
function quietWhileDown<T extends Redis>(conn: T): T {
  conn.on('error', () => {});
  return conn;
}

export interface WorkerOptions {
  /** Opens the WebGPU device (default: kernels/device.ts openDevice). Tests wrap it to lose the device. */
  openDevice?: (o: OpenOptions) => Promise<OpenDevice>;
  /** How long /metrics stays up after a device loss before `onDeviceLost` is called. */
  deviceLostGraceMs?: number;
  /** Called once the grace period after a device loss is over; main.ts exits with code 3. */
  onDeviceLost?: (info: GPUDeviceLostInfo) => void;
  /** Parent logger (default: a new one at the config's LOG_LEVEL); the worker logs through a child of it. */
  log?: Logger;
}

/** What start() found, for the "worker ready" line. */
export interface WorkerReady {
  label: string;
  adapter: AdapterDescription;
  region: string;
  powerWatts: number;
  powerSource: string;
  concurrency: number;
  metricsUrl: string;
}

export interface UsineWorker {
  readonly name: string;
  /** This run's id in the worker table. */
  readonly id: string;
  readonly log: Logger;
  /** The metrics server's port once it listens (a config port of 0 picks a free one). */
  readonly metricsPort: number | null;
  /**
   * Opens the device, serves /metrics, joins the worker table and starts taking jobs. Rejects
   * with a DeviceLostError when the device is lost on the way: the device-loss steps are then
   * under way (/metrics stays up, `onDeviceLost` follows after the grace period).
   */
  start(): Promise<WorkerReady>;
  /** Stops taking jobs, waits for the running ones, leaves the worker table, closes everything. */
  stop(): Promise<void>;
}

export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
}

export function createWorker(cfg: WorkerConfig, options: WorkerOptions = {}): UsineWorker {
  const name = cfg.USINE_WORKER_NAME || `${os.hostname()}-${process.pid}`;
  const id = `${name}-${randomUUID().slice(0, 8)}`;
  const log = (options.log ?? createLogger(`worker`, cfg.LOG_LEVEL)).child({ worker: name });
  const graceMs = options.deviceLostGraceMs ?? DEVICE_LOST_GRACE_MS;

  // Each piece is set once it exists, so the device-lost handler, which can run at any await of
  // start(), touches only what is there; start() checks for a loss after each step (`alive`).
  let gpu: OpenDevice | undefined;
  let metricsServer: http.Server | undefined;
  let redis: Redis | undefined;
  let subscriber: Redis | undefined;
  let health: RedisHealth | undefined;
  let registry: WorkerRegistry | undefined;
  let joined = false;
  let beats: NodeJS.Timeout | undefined;
  let soonBeat: NodeJS.Timeout | undefined;
  let puller: FairPuller | undefined;
  let pullerStopped: Promise<void> | undefined;
  let lost: GPUDeviceLostInfo | undefined;

  // Stop taking jobs and hand the running ones back (they fail here anyway), leave the worker
  // table so nothing is matched to this device. Idempotent: start() calls it for pieces it
  // made after the handler ran.
  function standDown(): void {
    clearInterval(beats);
    clearTimeout(soonBeat);
    beats = soonBeat = undefined;
    if (joined) {
      joined = false;
      void registry!.remove(id).catch(() => {});
    }
    if (puller) {
      pullerStopped = puller.stop(true).catch(() => {});
      puller = undefined;
    }
  }

  function onLost(metrics: WorkerMetrics, info: GPUDeviceLostInfo): void {
    if (info.reason === 'destroyed') return;
    lost = info;
    metrics.deviceLost.inc();
    log.fatal(
      { reason: info.reason, message: info.message, graceMs },
      'device lost; exiting after the grace period so the supervisor restarts the worker',
    );
    standDown();
    setTimeout(() => options.onDeviceLost?.(info), graceMs).unref();
  }

  function alive(): void {
    if (!lost) return;
    standDown();
    throw new DeviceLostError(`the device was lost during start-up (${lost.reason}): ${lost.message}`);
  }

  const heartbeat = (caps: DeviceCaps, label: string, startedAt: string) =>
    registry!
      .heartbeat({
        id,
        name,
        caps,
        adapter: label,
        concurrency: cfg.USINE_WORKER_CONCURRENCY,
        running: puller?.running() ?? [],
        jobs: puller?.runningJobs() ?? [],
        startedAt,
        lastHeartbeat: '',
      })
      .catch((err: Error) => log.warn({ err: err.message }, 'heartbeat failed'));

  async function start(): Promise<WorkerReady> {
    gpu = await (options.openDevice ?? openDevice)({
      adapter: cfg.USINE_ADAPTER || undefined,
      backend: cfg.USINE_BACKEND || undefined,
    });
    const label = adapterLabel(gpu.info);
    const power = powerWatts(gpu.info, cfg.USINE_WORKER_POWER_WATTS);
    const metrics = new WorkerMetrics(gpu.info, power.watts);
    gpu.device.lost
      .then((info) => onLost(metrics, info))
      .catch((err) => log.error({ err }, 'device-loss steps failed'));
    const gpuCtx = { device: gpu.device, info: gpu.info, label, matmul: new Matmul(gpu.device) };
    const artifacts = new ArtifactStore(cfg.USINE_ARTIFACT_DIR);
    const features = cfg.USINE_WORKER_FEATURES;
    const caps: DeviceCaps = {
      vendor: gpu.info.vendor,
      architecture: gpu.info.architecture,
      device: gpu.info.device,
      backend: gpu.info.backend,
      features:
        features !== undefined
          ? features
              .split(',')
              .map((f) => f.trim())
              .filter((f) => gpu!.info.features.includes(f))
          : gpu.info.features,
      limits: gpu.info.limits,
      region: cfg.USINE_WORKER_REGION,
    };

    // /livez: the process serves. /readyz (and /healthz, as before): it can take jobs, so 503 after
    // a device loss or while Redis is unreachable. None of them waits on Redis.
    const server = http.createServer(async (req, res) => {
      if (req.url === '/metrics') {
        metrics.redisUp.set(health?.up ? 1 : 0);
        res.setHeader('Content-Type', metrics.registry.contentType);
        res.end(await metrics.registry.metrics());
      } else if (req.url === '/livez') {
        res.end('ok\n');
      } else if (req.url === '/readyz' || req.url === '/healthz') {
        const why = lost ? 'device lost' : !health?.up ? 'redis unreachable' : '';
        res.statusCode = why ? 503 : 200;
        res.end(why ? `${why}\n` : 'ok\n');
      } else {
        res.statusCode = 404;
        res.end('not found\n');
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(cfg.USINE_WORKER_METRICS_PORT, cfg.USINE_WORKER_HOST, resolve);
    });
    metricsServer = server;
    alive();

    // No auto-pipelining: it holds each command until the next tick to batch it, which costs the
    // dispatch loop more in latency than it saves in syscalls (measured in process, draining 20,000
    // no-op jobs: ~9,500 jobs/s with it, ~13,000 without).
    // No command timeout here: BullMQ's worker connections need maxRetriesPerRequest null, and while
    // Redis is away the dispatch loop simply waits on its next command (no jobs taken, no spinning)
    // and goes on when ioredis has reconnected.
    const conn = (redis = connectRedis(redisTarget(cfg)));
    const h = (health = new RedisHealth(conn));
    // ioredis reports each failed reconnect: during an outage that is one line (below), not one a second.
    conn.on('error', (err) => {
      if (h.up) log.error({ err: err.message }, 'redis error');
      else log.debug({ err: err.message }, 'redis error');
    });
    h.on('change', (up) =>
      up
        ? log.info('redis answers; taking jobs again')
        : log.error('redis unreachable; no new jobs until it is back (running jobs go on), reconnecting'),
    );
    const keys = new Keys(cfg.USINE_QUEUE_PREFIX);
    const curves = new CurveStore(conn, keys);
    // Tile configs per (adapter, dtype, shape bucket), shared through Redis and a file: a worker
    // reuses what any worker with the same adapter measured.
    const tuner = new MatmulTuner(gpuCtx.matmul, {
      redis: conn,
      dir: path.join(cfg.USINE_DATA_DIR, 'tuning'),
      onFirstUse: cfg.USINE_MATMUL_AUTOTUNE === 'first-use',
      log: (line) => log.info({ tuner: 'matmul' }, line),
    });
    await tuner.load();
    alive();

    const startedAt = new Date().toISOString();
    // Chaos runs only (USINE_CHAOS_COUNTERS): per job, its runs and accepted completions, a hash
    // field each (`<job id>|<uuid>`), not a count (scripts/chaos/counters.ts says why).
    const chaosCount = (what: 'executions' | 'completions') =>
      cfg.USINE_CHAOS_COUNTERS === 'on'
        ? (job: { id?: string }) =>
            void conn.hset(`${cfg.USINE_QUEUE_PREFIX}:chaos:${what}`, `${job.id!}|${randomUUID()}`, 1).catch(() => {})
        : undefined;
    const countExecution = chaosCount('executions');
    const p = new FairPuller({
      redis: conn,
      subscriber: (subscriber = quietWhileDown(connectRedis(redisTarget(cfg)))),
      keys,
      prefix: cfg.USINE_QUEUE_PREFIX,
      workerName: name,
      workerId: id,
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
        if (!beats) return; // not in the table (yet, or any more)
        soonBeat ??= setTimeout(() => {
          soonBeat = undefined;
          return heartbeat(caps, label, startedAt); // never rejects: it logs its own failures
        }, 200);
      },
      // The preempted job is back in its queue: its log says why, and what it lost.
      onCompleted: chaosCount('completions'),
      onPreempted: (job, last) =>
        appendJobLog(conn, job, `preempted ${describePreemption(last)}; ${last.lostDeviceSeconds} device-seconds lost`),
      process: async (job, signal, hooks) => {
        const { spec, tenant } = job.data;
        const attempt = job.attemptsMade + 1;
        // The job's child logger only when something uses it: most jobs log one line, below.
        let jlog: Logger | undefined;
        const jobLogger = () => (jlog ??= log.child({ job: job.id, tenant, type: spec.type }));
        if (log.isLevelEnabled('debug')) jobLogger().debug({ attempt }, 'job started');
        // A preemption uses no attempt: its restart says so, or the log would show "attempt 1" twice.
        const again = job.data.preemption ? ` again after preemption ${job.data.preemption.count}` : '';
        const jobLog = new JobLog(conn, job, `attempt ${attempt} started${again} on worker ${name} (${label})`);
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
          progress: (pr) => job.updateProgress(pr),
          checkpointed: () => hooks.checkpointed(),
          note: (line) => jobLog.note(line),
          curve: (points) => curves.append(job.id!, points, cfg.USINE_RETENTION_SECONDS),
        };
        try {
          const out = await runJob(spec, ctx);
          countExecution?.(job);
          metrics.jobsFinished.inc({ type: spec.type, outcome: 'succeeded' });
          const ms = Math.round(performance.now() - t0);
          // One info line per job (at its end); its bindings inline, no child logger per job.
          log.info({ job: job.id, tenant, type: spec.type, attempt, ms }, 'job succeeded');
          jobLog.succeeded();
          return out;
        } catch (e) {
          if (signal.aborted && signal.reason === PREEMPTED_REASON) {
            // Not finished: back in its queue (the puller writes the job log line and counts it).
            log.info(
              { job: job.id, tenant, type: spec.type, attempt, ms: Math.round(performance.now() - t0) },
              'job preempted',
            );
            jobLog.preempted();
            throw e;
          }
          const outcome = signal.aborted ? (signal.reason === 'timeout' ? 'failed' : 'cancelled') : 'failed';
          metrics.jobsFinished.inc({ type: spec.type, outcome });
          const ms = Math.round(performance.now() - t0);
          const reason = signal.aborted ? String(signal.reason) : undefined;
          jobLogger().warn({ err: e, attempt, ms, reason }, `job ${outcome}`);
          jobLog.ended(`${outcome} after ${ms} ms: ${(e as Error).message ?? e}`);
          // Bad input never succeeds on retry.
          if (e instanceof InputError) throw new UnrecoverableError(e.message);
          throw e;
        } finally {
          metrics.jobDuration.observe({ type: spec.type }, (performance.now() - t0) / 1000);
        }
      },
    });

    registry = new WorkerRegistry(conn, keys, 10_000);
    joined = true;
    await heartbeat(caps, label, startedAt);
    alive();
    // Not while Redis is down: each beat would wait in ioredis's offline queue, a pile that grows
    // with the outage. The worker drops out of /v1/workers then, and is back at the first beat.
    beats = setInterval(() => h.up && heartbeat(caps, label, startedAt), 2000);
    await p.start();
    puller = p;
    alive();
    return {
      label,
      adapter: gpu.info,
      region: caps.region,
      powerWatts: power.watts,
      powerSource: power.source,
      concurrency: cfg.USINE_WORKER_CONCURRENCY,
      metricsUrl: `http://${cfg.USINE_WORKER_HOST}:${(server.address() as AddressInfo).port}/metrics`,
    };
  }

  async function stop(): Promise<void> {
    // The order of old: the puller (running jobs finish), heartbeats, the worker table,
    // Redis, /metrics, the device.
    // Without Redis, running jobs cannot record their end and the puller's round waits on
    // Redis: stop within a bound, and stalled-job recovery hands the jobs on once Redis is back.
    const bound = (p: Promise<unknown> | undefined) => (health?.up === false ? within(3000, p) : p);
    await bound(puller?.stop());
    puller = undefined;
    await bound(pullerStopped);
    clearInterval(beats);
    clearTimeout(soonBeat);
    beats = soonBeat = undefined;
    if (joined) {
      joined = false;
      await bound(registry!.remove(id).catch(() => {}));
    }
    const up = health?.up ?? false;
    health?.stop();
    // Without Redis, quit() would wait for it: drop the connections instead.
    if (up) await redis?.quit().catch(() => {});
    else redis?.disconnect();
    if (up) await subscriber?.quit().catch(() => {});
    else subscriber?.disconnect();
    await new Promise<void>((resolve) => {
      if (!metricsServer) return resolve();
      metricsServer.close(() => resolve());
      // A scraper's kept-alive connection would hold close() until it times out.
      metricsServer.closeIdleConnections();
    });
    gpu?.close();
  }

  return {
    name,
    id,
    log,
    get metricsPort() {
      return metricsServer ? (metricsServer.address() as AddressInfo).port : null;
    },
    start,
    stop,
  };
}
