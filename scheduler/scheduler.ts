// The usine scheduler as an app: HTTP API, admission, tenants; job queues in Redis/BullMQ.
// scheduler/main.ts runs one as a process; tests can run one in-process.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { SchedulerConfig } from '../shared/config.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import { connectRedis } from '../shared/redis.ts';
import { shares, type TenantLoad } from './policy/fair-share.ts';
import { TenantQueues, perTenant } from './queue/tenant-queues.ts';
import { buildServer } from './server.ts';
import { followEvents } from './state/job-events.ts';
import { readTenantsFile } from './state/tenants.ts';
import { openContext } from './context.ts';
import { LEASE_TTL_MS, LeaderDuties, leaseHolderId } from './leader.ts';
import { Preemptor } from './preemptor.ts';
import { Lease } from './state/lease.ts';

export interface SchedulerOptions {
  /** Logger (default: a new one at the config's LOG_LEVEL). */
  log?: Logger;
}

/** What start() found, for the "scheduler listening" line. */
export interface SchedulerReady {
  /** Base URL of the API, with the bound port (a config port of 0 picks a free one). */
  url: string;
  tenants: number;
}

export interface UsineScheduler {
  readonly log: Logger;
  /** Seeds the tenants, starts the metrics and the dependants' release, and listens. */
  start(): Promise<SchedulerReady>;
  /** Stops listening (requests in flight finish), then closes the queues and Redis. */
  stop(): Promise<void>;
}

/** Reads the tenants file now: a bad one throws here, before anything connects. */
export function createScheduler(cfg: SchedulerConfig, options: SchedulerOptions = {}): UsineScheduler {
  const file = cfg.USINE_TENANTS_FILE ? readTenantsFile(cfg.USINE_TENANTS_FILE) : null;
  const log = options.log ?? createLogger('scheduler', cfg.LOG_LEVEL);

  // What stop() closes, once start() made it.
  let redisConn: Redis | undefined;
  let queuesConn: TenantQueues | undefined;
  let app: FastifyInstance | undefined;
  let gauges: NodeJS.Timeout | undefined;
  let dependants: NodeJS.Timeout | undefined;
  let duties: LeaderDuties | undefined;
  const stopEvents = new AbortController();
  let eventsConn: Redis | undefined;
  let following: Promise<void> | undefined;

  async function start(): Promise<SchedulerReady> {
    const redis = (redisConn = connectRedis(cfg.REDIS_URL));
    redis.on('error', (err) => log.error({ err: err.message }, 'redis error'));
    const ctx = await openContext(cfg, redis, file, log);
    const { keys, queues, tenants, workers, usage, store, metrics, preemptions } = ctx;
    queuesConn = queues;

    // Counters and histograms come from the workers' job events…
    eventsConn = connectRedis(cfg.REDIS_URL);
    following = followEvents(eventsConn, keys, (batch) => metrics.observeAll(batch), stopEvents.signal).catch((err) =>
      log.error({ err }, 'job events stopped'),
    );

    // …and the gauges from a periodic look at the queues, usage and workers.
    async function refreshGauges(): Promise<void> {
      const [list, all, snap, live] = await Promise.all([
        tenants.list(),
        queues.list(),
        usage.snapshot(),
        workers.live(),
      ]);
      const counts = perTenant(all, await queues.counts(all));
      const loads: TenantLoad[] = list.map((t) => ({
        name: t.name,
        weight: t.weight,
        maxRunning: t.maxRunning,
        usage: snap.usage.get(t.name) ?? 0,
        queued: counts.get(t.name)?.queued ?? 0,
        running: counts.get(t.name)?.running ?? 0,
      }));
      const share = shares(loads);
      for (const l of loads) {
        metrics.zeroTenant(l.name);
        metrics.tenantJobs.set({ tenant: l.name, state: 'queued' }, l.queued);
        metrics.tenantJobs.set({ tenant: l.name, state: 'running' }, l.running);
        metrics.usage.set({ tenant: l.name }, l.usage);
        metrics.weightShare.set({ tenant: l.name }, share.get(l.name)!.weightShare);
        metrics.usageShare.set({ tenant: l.name }, share.get(l.name)!.usageShare);
      }
      for (const t of list) {
        metrics.tenantQuota.set({ tenant: t.name, kind: 'max_queued' }, t.maxQueued);
        metrics.tenantQuota.set({ tenant: t.name, kind: 'max_running' }, t.maxRunning);
      }
      metrics.workersOnline.reset();
      for (const w of live) {
        const { vendor, architecture, device, backend } = w.caps;
        metrics.workersOnline.inc({ vendor, architecture, device, backend });
      }
      const busy = live.reduce((s, w) => s + w.running.length, 0);
      const slots = live.reduce((s, w) => s + w.concurrency, 0);
      metrics.workerSlots.set({ state: 'busy' }, busy);
      metrics.workerSlots.set({ state: 'free' }, Math.max(0, slots - busy));
    }
    // Jobs held for a dependency (dependsOn, an infer job's train job) are released or failed here.
    dependants = setInterval(
      () =>
        void store
          .releaseDependants()
          .then((r) => (r.released || r.failed) && log.info(r, 'dependants released or failed'))
          .catch((err) => log.warn({ err: err.message }, 'dependants not checked')),
      1000,
    );
    gauges = setInterval(
      () => void refreshGauges().catch((err) => log.warn({ err: err.message }, 'gauges not refreshed')),
      2000,
    );
    await refreshGauges();

    const preemptor = new Preemptor({
      redis,
      keys,
      queues,
      tenants,
      workers,
      usage,
      ledger: preemptions,
      metrics,
      log,
      settings: {
        enabled: cfg.USINE_PREEMPTION === 'on',
        minRuntimeSeconds: cfg.USINE_PREEMPTION_MIN_RUNTIME_SECONDS,
        graceSeconds: cfg.USINE_PREEMPTION_GRACE_SECONDS,
      },
    });
    duties = new LeaderDuties(
      new Lease(redis, keys.lease('dispatch'), leaseHolderId(), LEASE_TTL_MS),
      preemptor,
      metrics,
      log,
    );
    duties.start();

    app = buildServer(ctx, log, cfg.USINE_BODY_LIMIT_BYTES, cfg.USINE_UPLOAD_LIMIT_BYTES);
    await app.listen({ host: cfg.USINE_HOST, port: cfg.USINE_PORT });
    const port = (app.server.address() as AddressInfo).port;
    return { url: `http://${cfg.USINE_HOST}:${port}`, tenants: (await tenants.list()).length };
  }

  async function stop(): Promise<void> {
    clearInterval(gauges);
    clearInterval(dependants);
    await duties?.stop();
    await app?.close();
    stopEvents.abort();
    eventsConn?.disconnect();
    await following;
    await queuesConn?.close();
    await redisConn?.quit().catch(() => {});
  }

  return { log, start, stop };
}
