// The processes of a bench:scale cell besides the bench's own, as a deployment has them: the
// scheduler's dispatch round (scheduler/dispatcher.ts) in one, and each worker's FairPuller in
// one of its own (the worker process' dispatch loop, without WebGPU or HTTP, so that W can reach
// 32 on two cores). In one process with the load's submitter, every figure carried that process'
// event-loop stalls (p99 250 ms at T=1,000): building a batch of 1,000 jobs blocked the round
// and the probe alike; and 8 pullers of 100 slots in one process heard the round's news about
// 100 ms late. Each process lives for the whole run and serves cell after cell, so that the
// warm-up cell's JIT work is not paid again in the measured ones.
//
// Messages: the parent sends `setup` (a cell), `measure` (counters from now on), `report` and
// `teardown`; a role answers each with one message of the same `type`, and the pullers also send
// `progress` (jobs done) and `probe` (when a probe tenant's job started).
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../shared/redis.ts';
import { createLogger } from '../../shared/logger.ts';
import { Dispatcher } from '../../scheduler/dispatcher.ts';
import { FairPuller } from '../../scheduler/queue/fair-puller.ts';
import { TenantQueues } from '../../scheduler/queue/tenant-queues.ts';
import type { DeviceCaps } from '../../scheduler/policy/matching.ts';
import { Keys } from '../../scheduler/state/keys.ts';
import { WorkerRegistry } from '../../scheduler/state/workers.ts';

export type Role = 'dispatcher' | 'pullers';

/** A bench child process: the dispatcher, or the i-th pullers' process. */
export type ProcessName = 'dispatcher' | `pullers-${number}`;

export interface RoleSetup {
  redisUrl: string;
  prefix: string;
  /** Pullers in this process (all W in one, when there are fewer processes than workers). */
  workers: number;
  /** The first puller's number (names bench-<n>, as the heartbeats the parent wrote). */
  firstWorker: number;
  concurrency: number;
  halfLifeSeconds: number;
  catchUpSeconds: number;
  /** The pullers plan for themselves (local) or take the round's grants. */
  dispatch: 'grants' | 'local';
}

export type ToRole = { type: 'setup'; setup: RoleSetup } | { type: 'measure' | 'report' | 'teardown' };

export interface RoleReport {
  /** Dispatch rounds: the scheduler's, or (local) every puller's. */
  rounds: number;
  /** Redis reads those rounds made to plan (their snapshot script's reads included). */
  planReads: number;
  /** Each of the scheduler's rounds' duration (dispatcher role only). */
  roundMs: number[];
  /** This process' event-loop delay, ms. */
  lagMs: { p50: number; p99: number };
  /** CPU this process spent (user + system), ms. */
  cpuMs: number;
}

export type FromRole =
  | { type: 'setup' | 'measure' | 'teardown' }
  | { type: 'report'; report: RoleReport }
  | { type: 'progress'; done: number }
  | { type: 'probe'; id: string; at: number };

export const PROBE = 'probe';

/** Device caps every class of the bench matches. */
export const benchCaps: DeviceCaps = {
  vendor: 'bench',
  architecture: '',
  device: '',
  backend: 'vulkan',
  features: [],
  limits: { maxBufferSize: 1 << 30 },
  region: 'local',
};

// SMEMBERS: the active-queue index, read first by every round (and alone when it is empty).
const PLAN_READS = new Set(['hgetall', 'llen', 'zcard', 'smembers']);

/** Counts what the plans of this process send to Redis. */
class ReadCounter {
  rounds = 0;
  planReads = 0;
  constructor(private readonly keys: Keys) {}

  /**
   * Every command a connection sends, pipelined or not, passes through sendCommand. A worker's
   * own plan (FairPuller.plan) reads the usage hash exactly once: that counts its rounds (the
   * dispatcher's are counted as they end: it keeps the usage a while, Dispatcher.round). Plan
   * reads are the index, the HGETALLs and the queue counts; BullMQ's own work is scripts.
   */
  wrap(redis: Redis): Redis {
    const send = redis.sendCommand.bind(redis);
    const usageKey = this.keys.usage;
    const activeKey = this.keys.active;
    redis.sendCommand = ((cmd: { name: string; args: unknown[]; promise: Promise<unknown> }, ...rest: unknown[]) => {
      if (PLAN_READS.has(cmd.name)) this.planReads++;
      if (cmd.name === 'hgetall' && String(cmd.args[0]) === usageKey) this.rounds++;
      // The round's scripts over the index (their one key): the snapshot (only the prefix after it)
      // reads SMEMBERS and four keys per FIFO queue it returns, five per priority queue ('.p'); the
      // re-read of the queues that moved (names after the prefix) three or four each. The index's
      // prune and sweep scripts answer a number.
      if (cmd.name === 'evalsha' && String(cmd.args[2]) === activeKey) {
        const reads = (name: unknown) => (String(name).endsWith('.p') ? 4 : 3);
        const snapshot = cmd.args.length === 4;
        cmd.promise.then(
          (r) => {
            if (!Array.isArray(r)) return;
            if (!snapshot) for (const name of cmd.args.slice(4)) this.planReads += reads(name);
            else {
              this.planReads++;
              for (let i = 0; i < r.length; i += 4) this.planReads += 1 + reads(r[i]);
            }
          },
          () => {},
        );
      }
      return (send as (...a: unknown[]) => unknown)(cmd, ...rest);
    }) as unknown as typeof redis.sendCommand;
    return redis;
  }
}

interface Running {
  counter: ReadCounter;
  connections: Redis[];
  stop(): Promise<void>;
  roundMs: number[];
}

function send(m: FromRole): void {
  process.send!(m);
}

async function startDispatcher(s: RoleSetup): Promise<Running> {
  const keys = new Keys(s.prefix);
  const counter = new ReadCounter(keys);
  const redis = counter.wrap(connectRedis(s.redisUrl));
  const subscriber = connectRedis(s.redisUrl);
  const roundMs: number[] = [];
  const d = new Dispatcher({
    redis,
    subscriber,
    keys,
    queues: new TenantQueues(redis, keys, s.prefix),
    workers: new WorkerRegistry(redis, keys, 3600_000),
    halfLifeSeconds: s.halfLifeSeconds,
    catchUpSeconds: s.catchUpSeconds,
    log: createLogger('bench-scale', 'warn'),
    observeRound: (sec) => roundMs.push(sec * 1000),
  });
  // The leader's tick, as LeaderDuties runs it (no lease: this is the only scheduler).
  await d.tick();
  const ticking = setInterval(() => void d.tick().catch(() => {}), 1000);
  return {
    counter,
    connections: [redis, subscriber],
    roundMs,
    stop: async () => {
      clearInterval(ticking);
      await d.stop();
    },
  };
}

async function startPullers(s: RoleSetup): Promise<Running> {
  const keys = new Keys(s.prefix);
  const counter = new ReadCounter(keys);
  const log = createLogger('bench-scale', 'warn');
  const connections: Redis[] = [];
  const pullers: FairPuller[] = [];
  let done = 0;
  const progress = setInterval(() => send({ type: 'progress', done }), 20);
  for (let w = s.firstWorker; w < s.firstWorker + s.workers; w++) {
    const redis = counter.wrap(connectRedis(s.redisUrl));
    const subscriber = connectRedis(s.redisUrl);
    connections.push(redis, subscriber);
    const p = new FairPuller({
      redis,
      subscriber,
      keys,
      prefix: s.prefix,
      workerName: `bench-${w}`,
      workerId: `bench-${w}`,
      caps: benchCaps,
      concurrency: s.concurrency,
      halfLifeSeconds: s.halfLifeSeconds,
      catchUpSeconds: s.catchUpSeconds,
      lockMs: 30_000,
      powerWatts: 1,
      log,
      process: async (job) => {
        if (job.data.tenant === PROBE) send({ type: 'probe', id: job.id!, at: Date.now() });
        else done++;
        return { result: null, flops: 0 };
      },
    });
    await p.start();
    pullers.push(p);
  }
  return {
    counter,
    connections,
    roundMs: [],
    stop: async () => {
      clearInterval(progress);
      send({ type: 'progress', done });
      await Promise.all(pullers.map((p) => p.stop(true).catch(() => {})));
    },
  };
}

/** Serves the parent's messages until it disconnects. */
export function serveRole(role: Role): void {
  let running: Running | null = null;
  let lag: IntervalHistogram | null = null;
  let base = { rounds: 0, planReads: 0, cpu: process.cpuUsage() };
  process.on('message', (m: ToRole) => {
    void (async () => {
      if (m.type === 'setup') {
        running = await (role === 'dispatcher' ? startDispatcher(m.setup) : startPullers(m.setup));
      } else if (m.type === 'measure' && running) {
        base = { rounds: running.counter.rounds, planReads: running.counter.planReads, cpu: process.cpuUsage() };
        running.roundMs.length = 0;
        lag = monitorEventLoopDelay({ resolution: 5 });
        lag.enable();
      } else if (m.type === 'report' && running) {
        lag?.disable();
        const report: RoleReport = {
          // The dispatcher's rounds as they end (idle ones too: none while jobs flow).
          rounds: role === 'dispatcher' ? running.roundMs.length : running.counter.rounds - base.rounds,
          planReads: running.counter.planReads - base.planReads,
          roundMs: [...running.roundMs],
          lagMs: { p50: (lag?.percentile(50) ?? NaN) / 1e6, p99: (lag?.percentile(99) ?? NaN) / 1e6 },
          cpuMs: ((u) => (u.user + u.system) / 1000)(process.cpuUsage(base.cpu)),
        };
        send({ type: 'report', report });
        return;
      } else if (m.type === 'teardown' && running) {
        await running.stop();
        for (const c of running.connections) c.disconnect();
        running = null;
      }
      send({ type: m.type } as FromRole);
    })().catch((err: Error) => {
      console.error(`bench:scale ${role}: ${err.stack ?? err.message}`);
      process.exit(1);
    });
  });
  process.on('disconnect', () => process.exit(0));
}
