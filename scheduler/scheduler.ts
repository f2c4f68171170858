// The usine scheduler as an app: HTTP API, admission, tenants; job queues in Redis/BullMQ.
// scheduler/main.ts runs one as a process; tests can run one in-process.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { SchedulerConfig } from '../shared/config.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectRedis, redisTarget, within } from '../shared/redis.ts';
import type { TenantQueues } from './queue/tenant-queues.ts';
import { buildServer } from './server.ts';
import { followEvents } from './state/job-events.ts';
import { readTenantsFile } from './state/tenants.ts';
import { createContext, seedContext, type SchedulerContext } from './context.ts';
import { RedisHealth } from '../shared/redis-health.ts';
import { Dispatcher } from './dispatcher.ts';
import { LEASE_TTL_MS, LeaderDuties, leaseHolderId, type LeaderDuty } from './leader.ts';
import { gaugesDuty } from './gauges.ts';
import { Preemptor } from './preemptor.ts';
import { Lease } from './state/lease.ts';

export interface SchedulerOptions {
  /** Logger (default: a new one at the config's LOG_LEVEL). */
  log?: Logger;
}

/** How long start() waits for a Redis that neither answers nor refuses (a frozen one) before it returns. */
const START_WAIT_MS = 3000;

/** What start() found, for the "scheduler listening" line. */
export interface SchedulerReady {
  /** Base URL of the API, with the bound port (a config port of 0 picks a free one). */
  url: string;
  /** Tenants seeded; null while Redis is unreachable (the API answers 503 until it is back). */
  tenants: number | null;
}

export interface UsineScheduler {
  readonly log: Logger;
  /**
   * Listens, then seeds the tenants and starts the metrics and the dependants' release once
   * Redis answers. Returns once that is done, or at once when Redis is unreachable: the rest
   * follows in the background when it comes back, and until then the API answers 503.
   */
  start(): Promise<SchedulerReady>;
  /** Stops listening (requests in flight finish), then closes the queues and Redis. */
  stop(): Promise<void>;
}

/** Waits for `p` (its failure ignored), at most `ms`. */

/** Reads the tenants file now: a bad one throws here, before anything connects. */
export function createScheduler(cfg: SchedulerConfig, options: SchedulerOptions = {}): UsineScheduler {
  const file = cfg.USINE_TENANTS_FILE ? readTenantsFile(cfg.USINE_TENANTS_FILE) : null;
  const log = options.log ?? createLogger('scheduler', cfg.LOG_LEVEL);
  const target = redisTarget(cfg);

  // What stop() closes, once start() made it.
  let redisConn: Redis | undefined;
  let queuesConn: TenantQueues | undefined;
  let app: FastifyInstance | undefined;
  let dependants: NodeJS.Timeout | undefined;
  const stopEvents = new AbortController();
  let eventsConn: Redis | undefined;
  let following: Promise<void> | undefined;
  let duties: LeaderDuties | undefined;
  let dispatcher: Dispatcher | undefined;
  let dispatchConn: Redis | undefined;
  let health: RedisHealth | undefined;
  /** The tenants are seeded and the duties run: until then the API answers 503. */
  let prepared = false;
  /** This replica's name: its lease holder id, and its consumer name for the job events. */
  const replica = leaseHolderId();
  let bringingUp: Promise<void> | undefined;
  const stopping = new AbortController();

  async function start(): Promise<SchedulerReady> {
    // The API's connection never blocks (BullMQ Queues, not Workers; the events reader has its
    // own), so a command timeout is safe here, and it is what keeps a request from hanging on a
    // Redis that froze after the health check passed. maxRetriesPerRequest stays null (BullMQ's
    // requirement) and the offline queue stays on: start-up's writes wait for Redis.
    const redis = (redisConn = connectRedis(target, { commandTimeout: cfg.USINE_REDIS_COMMAND_TIMEOUT_MS }));
    // ioredis reports each failed reconnect: during an outage that is one line (below), not one a second.
    redis.on('error', (err) => {
      if (health?.up) log.error({ err: err.message }, 'redis error');
      else log.debug({ err: err.message }, 'redis error');
    });
    const h = (health = new RedisHealth(redis));
    h.on('change', (up) =>
      up
        ? log.info('redis answers; the API serves requests')
        : log.error('redis unreachable; the API answers 503 redis_unavailable until it is back'),
    );
    const ctx = createContext(cfg, redis, file);
    queuesConn = ctx.queues;

    app = buildServer(ctx, log, {
      bodyLimit: cfg.USINE_BODY_LIMIT_BYTES,
      uploadLimit: cfg.USINE_UPLOAD_LIMIT_BYTES,
      requestTimeoutMs: cfg.USINE_REQUEST_TIMEOUT_SECONDS * 1000,
      redisUp: () => h.up && prepared,
      leading: () => duties?.leading ?? false,
      rateLimitPerMinute: cfg.USINE_RATE_LIMIT_PER_MINUTE,
    });
    // Listen first: /livez and /readyz answer while Redis is down, and the rest answers 503.
    await app.listen({ host: cfg.USINE_HOST, port: cfg.USINE_PORT });
    const port = (app.server.address() as AddressInfo).port;
    const url = `http://${cfg.USINE_HOST}:${port}`;

    bringingUp = bringUp(ctx, h);
    // Wait for Redis as long as it is merely slow; once it refused or a few seconds passed, the
    // process is up and keeps connecting in the background.
    const refused = new Promise<void>((resolve) => redis.once('error', () => resolve()));
    const ready = await Promise.race([
      bringingUp.then(
        () => true,
        () => false, // stopped meanwhile
      ),
      refused.then(() => false),
      sleep(START_WAIT_MS).then(() => false),
    ]);
    return { url, tenants: ready ? (await ctx.tenants.list()).length : null };
  }

  /** Seeds the tenants once Redis answers (again and again until it works), then starts the duties. */
  async function bringUp(ctx: SchedulerContext, h: RedisHealth): Promise<void> {
    for (;;) {
      await h.whenUp(stopping.signal);
      try {
        await seedContext(ctx, file, log);
        break;
      } catch (err) {
        if (stopping.signal.aborted) throw err;
        log.warn({ err: (err as Error).message }, 'tenants not seeded yet; trying again in 1 s');
        await sleep(1000, undefined, { signal: stopping.signal });
      }
    }
    if (stopping.signal.aborted) return;
    startDuties(ctx);
    prepared = true;
  }

  function startDuties(ctx: SchedulerContext): void {
    const { keys, store, metrics } = ctx;
    // Counters and histograms come from the workers' job events…
    eventsConn = connectRedis(target);
    eventsConn.on('error', (err) => log.debug({ err: err.message }, 'redis error (job events)'));
    // …and so is each tenant's estimated energy in the hourly usage totals (state/usage.ts says why).
    const observe = (batch: Parameters<typeof metrics.observeAll>[0]) => {
      metrics.observeAll(batch);
      ctx.usage.chargeEnergy(batch).catch((err) => log.warn({ err: err.message }, 'energy not recorded in usage'));
    };
    following = followEvents(eventsConn, keys, observe, stopEvents.signal, replica).catch((err) =>
      log.error({ err }, 'job events stopped'),
    );
    // Jobs held for a dependency (dependsOn, an infer job's train job) are released or failed
    // here, by every replica: a claim key per job decides which one acts on it (JobStore), so a
    // replica's death delays no release. Not while Redis is down: it would only queue commands.
    dependants = setInterval(() => {
      if (!health?.up) return;
      void store
        .releaseDependants()
        .then((r) => (r.released || r.failed) && log.info(r, 'dependants released or failed'))
        .catch((err) => log.warn({ err: err.message }, 'dependants not checked'));
    }, 1000);
    // The preemption round and the gauges of global state, on whichever replica holds the lease.
    const preemptor = new Preemptor({
      redis: ctx.redis,
      keys,
      queues: ctx.queues,
      tenants: ctx.tenants,
      workers: ctx.workers,
      usage: ctx.usage,
      ledger: ctx.preemptions,
      metrics,
      log,
      settings: {
        enabled: cfg.USINE_PREEMPTION === 'on',
        minRuntimeSeconds: cfg.USINE_PREEMPTION_MIN_RUNTIME_SECONDS,
        roundingMinRuntimeSeconds: cfg.USINE_PREEMPTION_ROUNDING_RUNTIME_SECONDS,
        graceSeconds: cfg.USINE_PREEMPTION_GRACE_SECONDS,
      },
    });
    // The dispatch round, when chosen: grants to the workers, in fair-share order (dispatcher.ts).
    const roundDuties: LeaderDuty[] = [];
    if (cfg.USINE_DISPATCH === 'round') {
      // A connection of its own, without the API's command timeout: a SUBSCRIBE answered late
      // under load must not fail while the server holds the subscription.
      dispatchConn = connectRedis(target);
      dispatchConn.on('error', (err) => log.debug({ err: err.message }, 'redis error (dispatch wake-ups)'));
      const d = (dispatcher = new Dispatcher({
        redis: ctx.redis,
        subscriber: dispatchConn,
        keys,
        queues: ctx.queues,
        workers: ctx.workers,
        halfLifeSeconds: cfg.USINE_FAIR_SHARE_HALF_LIFE_SECONDS,
        catchUpSeconds: cfg.USINE_FAIR_SHARE_CATCH_UP_SECONDS,
        log,
        observeRound: (sec) => metrics.dispatchRound.observe(sec),
      }));
      roundDuties.push({ name: 'dispatch round', run: () => d.tick(), onLose: () => d.standDown() });
    }
    const lease = new Lease(ctx.redis, keys.lease('dispatch'), replica, LEASE_TTL_MS);
    const round = { name: 'preemption round', run: async () => void (await preemptor.round()) };
    duties = new LeaderDuties(lease, [...roundDuties, round, gaugesDuty(ctx)], metrics, log, () => health?.up ?? false);
    duties.start();
  }

  async function stop(): Promise<void> {
    stopping.abort(new Error('scheduler stopping'));
    clearInterval(dependants);
    await duties?.stop();
    await within(1000, dispatcher?.stop());
    dispatchConn?.disconnect();
    await app?.close();
    await bringingUp?.catch(() => {});
    stopEvents.abort();
    eventsConn?.disconnect();
    const up = health?.up ?? false;
    health?.stop();
    // Without Redis, nothing waits to be written: drop the connection first. A command queued
    // on a connection that is between reconnects is never settled by disconnect() (ioredis), so
    // the waits below are bounded: a stop must not hang on a Redis that is not there.
    if (!up) redisConn?.disconnect();
    await within(1000, following);
    await within(up ? 10_000 : 1000, queuesConn?.close());
    if (up) await within(2000, redisConn?.quit());
  }

  return { log, start, stop };
}
