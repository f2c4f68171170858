// One cell of `npm run bench:scale`: T tenants × C requirement classes, W in-process
// FairPullers sharing one Redis, no-op jobs, the real fair-share plan. The pullers are the
// ones the worker process runs (scheduler/queue/fair-puller.ts), driven here without
// WebGPU or HTTP, so that W can reach 32 and more on two cores. With `dispatch: 'grants'`
// the scheduler's dispatch round (scheduler/dispatcher.ts) runs in-process too and the
// pullers take its grants; with 'local' each puller plans for itself (no round runs).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { jobSpec, requirements, type Requirements } from '../../shared/job-spec.ts';
import { connectRedis } from '../../shared/redis.ts';
import { createLogger } from '../../shared/logger.ts';
import { Dispatcher } from '../../scheduler/dispatcher.ts';
import { FairPuller } from '../../scheduler/queue/fair-puller.ts';
import { JobStore, type NewJob } from '../../scheduler/queue/job-store.ts';
import { TenantQueues, queueName, type QueueInfo } from '../../scheduler/queue/tenant-queues.ts';
import { requirementClass, type DeviceCaps } from '../../scheduler/policy/matching.ts';
import { Keys } from '../../scheduler/state/keys.ts';
import { tenantSchema } from '../../scheduler/state/tenants.ts';
import { WorkerRegistry } from '../../scheduler/state/workers.ts';

export type DispatchMode = 'grants' | 'local';

export interface CellOptions {
  redisUrl: string;
  tenants: number;
  classes: number;
  workers: number;
  /** Device slots per puller. */
  concurrency: number;
  jobs: number;
  /** Jobs per submit (one JobStore.add, one wake-up publish). */
  batch: number;
  /** The load phase stops here even when jobs are left (the cell is then flagged unfinished). */
  maxSeconds: number;
  /** Length of the idle measurement, pullers started and nothing queued. */
  idleSeconds: number;
  halfLifeSeconds?: number;
  catchUpSeconds?: number;
  /** Who plans: the scheduler's round (grants, the default) or every puller (local). */
  dispatch?: DispatchMode;
  /** Jobs done so far, for a progress display. */
  onProgress?: (done: number) => void;
}

export interface CellResult {
  dispatch: DispatchMode;
  tenants: number;
  classes: number;
  workers: number;
  concurrency: number;
  jobs: number;
  jobsDone: number;
  /** False when maxSeconds ran out before every job ran. */
  finished: boolean;
  seconds: number;
  jobsPerSec: number;
  /** A probe tenant's single jobs, submitted one at a time while the load runs (see probeLatency). */
  submitToStartMs: { p50: number; p99: number; samples: number };
  redisMicrosPerJob: number;
  redisCommandsPerJob: number;
  /** Dispatch rounds (plans) during the load phase: the scheduler's (grants) or all pullers' (local). */
  rounds: number;
  /**
   * Redis reads a round makes to plan (index, queue counts, usage, tables), averaged over the
   * rounds; the round's snapshot script counts as the reads it runs inside Redis.
   */
  planReadsPerRound: number;
  /** The scheduler's rounds' durations (grants mode; NaN in local mode). */
  roundMs: { p50: number; p99: number };
  /** The bench process' event-loop delay during the load: every puller runs in it, so this lag is in every figure. */
  loopLagMs: { p50: number; p99: number };
  idleRedisCommandsPerSec: number;
  /** Redis connections open while idle (each BullMQ queue worker holds its own). */
  redisClients: number;
}

const PROBE = 'probe';
const MIN_PROBES = 5;
// SMEMBERS: the active-queue index, read first by every round (and alone when it is empty).
const PLAN_READS = new Set(['hgetall', 'llen', 'zcard', 'smembers']);
/** Reads the round's snapshot script (ActiveQueues.snapshot) makes per queue it returns. */
const SNAPSHOT_READS_PER_QUEUE = 5;
/** Device caps every class of the bench matches. */
const caps: DeviceCaps = {
  vendor: 'bench',
  architecture: '',
  device: '',
  backend: 'vulkan',
  features: [],
  limits: { maxBufferSize: 1 << 30 },
  region: 'local',
};

/** Class 0 is `any`; class i asks for a buffer of i bytes, which every bench device has. */
function classRequirements(i: number): Requirements {
  return requirements.parse(i === 0 ? {} : { minLimits: { maxBufferSize: i } });
}

/** A few big tenants, many small ones: every 10th weighs 10, every 3rd 3, the rest 1. */
export function benchWeight(i: number): number {
  return i % 10 === 0 ? 10 : i % 3 === 0 ? 3 : 1;
}

export function tenantName(i: number): string {
  return `t${i}`;
}

/** Server-side figures: CPU seconds and commands executed (commands inside Lua scripts count too). */
async function redisCounters(r: Redis): Promise<{ cpu: number; calls: number }> {
  const [cpu, stats] = await Promise.all([r.info('cpu'), r.info('commandstats')]);
  const num = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? NaN);
  let calls = 0;
  for (const m of stats.matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm)) {
    // The bench's own INFO calls are not the pullers' work.
    if (m[1] !== 'info') calls += Number(m[2]);
  }
  return { cpu: num('used_cpu_user') + num('used_cpu_sys'), calls };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs one cell on an emptied Redis and takes every connection and puller down again. */
export async function runCell(o: CellOptions): Promise<CellResult> {
  const admin = connectRedis(o.redisUrl);
  const connections: Redis[] = [admin];
  const pullers: FairPuller[] = [];
  const dispatch = o.dispatch ?? 'grants';
  let dispatcher: Dispatcher | null = null;
  let ticking: NodeJS.Timeout | undefined;
  try {
    // Each cell starts from nothing: the previous cell's queues and kept jobs would skew it.
    await admin.flushall();
    const prefix = 'scale';
    const keys = new Keys(prefix);
    const tenants = Array.from({ length: o.tenants }, (_, i) =>
      tenantSchema.parse({ name: tenantName(i), weight: benchWeight(i) }),
    );
    tenants.push(tenantSchema.parse({ name: PROBE, weight: 1 }));
    await admin.hset(keys.tenants, Object.fromEntries(tenants.map((t) => [t.name, JSON.stringify(t)])));
    const queues = new TenantQueues(admin, keys, prefix);
    const store = new JobStore(admin, keys, queues, 3600);
    const infos: QueueInfo[][] = tenants.map((t) =>
      Array.from({ length: o.classes }, (_, c) => {
        const req = classRequirements(c);
        const cls = requirementClass(req);
        return { name: queueName(t.name, cls), tenant: t.name, cls, requirements: req };
      }),
    );
    // Registered up front, as a centre's queues exist before the day's work: the pullers
    // open their queue workers now, outside the measured phases.
    for (const q of infos.flat()) await queues.register(q);

    const started = new Map<string, number>();
    let done = 0;
    let rounds = 0;
    let planReads = 0;
    const roundMs: number[] = [];
    const log = createLogger('bench-scale', 'warn');
    // Every command a connection sends, pipelined or not, passes through sendCommand. A dispatch
    // round reads the usage hash exactly once (FairPuller.fill, Dispatcher.round): that counts
    // rounds. Its plan reads are the index (SMEMBERS), the HGETALLs and the queue counts (LLEN,
    // ZCARD); BullMQ's own work is scripts. A tick that finds the index empty reads it alone: not a round.
    const counted = (redis: Redis) => {
      const send = redis.sendCommand.bind(redis);
      redis.sendCommand = ((cmd: { name: string; args: unknown[]; promise: Promise<unknown> }, ...rest: unknown[]) => {
        if (PLAN_READS.has(cmd.name)) planReads++;
        // The snapshot script (its one key is the index, its one argument the prefix; the index's
        // prune and sweep scripts name queues too): SMEMBERS, then five reads per queue it returns.
        if (cmd.name === 'evalsha' && cmd.args.length === 4 && String(cmd.args[2]) === keys.active) {
          planReads++;
          cmd.promise.then(
            (r) => (planReads += Array.isArray(r) ? (SNAPSHOT_READS_PER_QUEUE * r.length) / 4 : 0),
            () => {},
          );
        }
        if (cmd.name === 'hgetall' && String(cmd.args[0]) === keys.usage) rounds++;
        return (send as (...a: unknown[]) => unknown)(cmd, ...rest);
      }) as unknown as typeof redis.sendCommand;
      return redis;
    };
    if (dispatch === 'grants') {
      const registry = new WorkerRegistry(admin, keys, 3600_000);
      for (let w = 0; w < o.workers; w++) {
        await registry.heartbeat({
          id: `bench-${w}`,
          name: `bench-${w}`,
          caps,
          adapter: 'bench',
          concurrency: o.concurrency,
          running: [],
          startedAt: new Date().toISOString(),
          lastHeartbeat: '',
        });
      }
      const redis = counted(connectRedis(o.redisUrl));
      const subscriber = connectRedis(o.redisUrl);
      connections.push(redis, subscriber);
      const d = (dispatcher = new Dispatcher({
        redis,
        subscriber,
        keys,
        queues: new TenantQueues(redis, keys, prefix),
        workers: registry,
        halfLifeSeconds: o.halfLifeSeconds ?? 3600,
        catchUpSeconds: o.catchUpSeconds ?? 60,
        log: createLogger('bench-scale', 'warn'),
        observeRound: (s) => roundMs.push(s * 1000),
      }));
      // The leader's tick, as LeaderDuties runs it (no lease: this is the only scheduler).
      await d.tick();
      ticking = setInterval(() => void d.tick().catch(() => {}), 1000);
    }
    for (let w = 0; w < o.workers; w++) {
      const redis = counted(connectRedis(o.redisUrl));
      const subscriber = connectRedis(o.redisUrl);
      connections.push(redis, subscriber);
      const p = new FairPuller({
        redis,
        subscriber,
        keys,
        prefix,
        workerName: `bench-${w}`,
        workerId: `bench-${w}`,
        caps,
        concurrency: o.concurrency,
        halfLifeSeconds: o.halfLifeSeconds ?? 3600,
        catchUpSeconds: o.catchUpSeconds ?? 60,
        lockMs: 30_000,
        powerWatts: 1,
        log,
        process: async (job) => {
          if (job.data.tenant === PROBE) started.set(job.id!, Date.now());
          else done++;
          return { result: null, flops: 0 };
        },
      });
      await p.start();
      pullers.push(p);
    }
    // Settle: every puller has made its first round and opened its queue workers.
    await sleep(1500);

    // Idle: W pullers, T×C queues, nothing queued.
    const i0 = await redisCounters(admin);
    await sleep(o.idleSeconds * 1000);
    const i1 = await redisCounters(admin);
    const idleRedisCommandsPerSec = (i1.calls - i0.calls) / o.idleSeconds;
    const redisClients = Number(/^connected_clients:(\d+)/m.exec(await admin.info('clients'))?.[1] ?? NaN);

    // Load: every job submitted in batches, spread round-robin over tenants, then classes.
    const spec = jobSpec.parse({ type: 'noop', params: {} });
    const c0 = await redisCounters(admin);
    const rounds0 = rounds;
    roundMs.length = 0;
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const reads0 = planReads;
    const t0 = performance.now();
    const deadline = t0 + o.maxSeconds * 1000;
    let loading = true;
    const submitting = (async () => {
      for (let i = 0; i < o.jobs && performance.now() < deadline; i += o.batch) {
        const batch: NewJob[] = [];
        for (let j = i; j < Math.min(o.jobs, i + o.batch); j++) {
          batch.push({ spec, queue: infos[j % o.tenants][Math.floor(j / o.tenants) % o.classes] });
        }
        await store.add(batch);
      }
    })();
    // Latency: a probe tenant submits one job at a time while the load runs; its jobs go
    // first by fair share (no usage), so the time to start is the dispatch path's, not a backlog's.
    const probeLatency: number[] = [];
    const probing = (async () => {
      while (loading) {
        const sent = Date.now();
        const [id] = await store.add([{ spec, queue: infos[o.tenants][0] }]);
        while (loading && !started.has(id)) await sleep(1);
        if (started.has(id)) probeLatency.push(started.get(id)! - sent);
        await sleep(10);
      }
    })();
    while (done < o.jobs && performance.now() < deadline) {
      o.onProgress?.(done);
      await sleep(20);
    }
    const seconds = (performance.now() - t0) / 1000;
    const jobsDone = done;
    const c1 = await redisCounters(admin);
    const cellRounds = rounds - rounds0;
    const cellReads = planReads - reads0;
    // A short cell may end before its first probes did: a few more, the pullers now idle.
    while (probeLatency.length < MIN_PROBES && performance.now() < deadline + 5000) await sleep(5);
    loading = false;
    await Promise.all([submitting, probing]);
    o.onProgress?.(done);
    probeLatency.sort((a, b) => a - b);
    roundMs.sort((a, b) => a - b);
    lag.disable();
    const calls = c1.calls - c0.calls;
    return {
      dispatch,
      tenants: o.tenants,
      classes: o.classes,
      workers: o.workers,
      concurrency: o.concurrency,
      jobs: o.jobs,
      jobsDone,
      finished: jobsDone >= o.jobs,
      seconds,
      jobsPerSec: jobsDone / seconds,
      submitToStartMs: {
        p50: percentile(probeLatency, 50),
        p99: percentile(probeLatency, 99),
        samples: probeLatency.length,
      },
      redisMicrosPerJob: ((c1.cpu - c0.cpu) * 1e6) / Math.max(1, jobsDone),
      redisCommandsPerJob: calls / Math.max(1, jobsDone),
      rounds: cellRounds,
      planReadsPerRound: cellReads / Math.max(1, cellRounds),
      roundMs: { p50: percentile(roundMs, 50), p99: percentile(roundMs, 99) },
      loopLagMs: { p50: lag.percentile(50) / 1e6, p99: lag.percentile(99) / 1e6 },
      idleRedisCommandsPerSec,
      redisClients,
    };
  } finally {
    clearInterval(ticking);
    await dispatcher?.stop();
    await Promise.all(pullers.map((p) => p.stop(true).catch(() => {})));
    for (const c of connections) c.disconnect();
  }
}
