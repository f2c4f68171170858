// One cell of `npm run bench:scale`: T tenants × C requirement classes, W FairPullers sharing
// one Redis, no-op jobs, the real fair-share plan. The pullers (and, with `dispatch: 'grants'`,
// the scheduler's dispatch round) run in processes of their own (roles.ts), as in a deployment;
// this process submits the load, probes submit→start with a tenant of its own, and reads
// Redis' counters. With 'local' each puller plans for itself (no round runs).
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { jobSpec, requirements, type Requirements } from '../../shared/job-spec.ts';
import { connectRedis } from '../../shared/redis.ts';
import { JobStore, type NewJob } from '../../scheduler/queue/job-store.ts';
import { TenantQueues, queueName, type QueueInfo } from '../../scheduler/queue/tenant-queues.ts';
import { requirementClass } from '../../scheduler/policy/matching.ts';
import { Keys } from '../../scheduler/state/keys.ts';
import { tenantSchema } from '../../scheduler/state/tenants.ts';
import { WorkerRegistry } from '../../scheduler/state/workers.ts';
import { PROBE, benchCaps, type FromRole, type Role, type RoleReport, type ToRole } from './roles.ts';

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
  /** The pullers' process' event-loop delay during the load (all W share it, so it is in every start). */
  loopLagMs: { p50: number; p99: number };
  idleRedisCommandsPerSec: number;
  /** Redis connections open while idle (two per puller: its commands and its subscriptions). */
  redisClients: number;
}

const MIN_PROBES = 5;

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

/** The bench's two child processes (roles.ts), kept for the whole run. */
export class BenchProcesses {
  private readonly children = new Map<Role, ChildProcess>();
  private readonly waiting = new Map<string, (m: FromRole) => void>();
  /** Jobs done so far in the current cell, as the pullers last said. */
  done = 0;
  /** Probe jobs started: id → when (the pullers' clock, the same machine's). */
  readonly probes = new Map<string, number>();

  start(): void {
    const main = path.join(import.meta.dirname, 'role-main.ts');
    for (const role of ['dispatcher', 'pullers'] as Role[]) {
      const child = fork(main, [role], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.on('message', (m: FromRole) => {
        if (m.type === 'progress') this.done = m.done;
        else if (m.type === 'probe') this.probes.set(m.id, m.at);
        else {
          const key = `${role}:${m.type}`;
          this.waiting.get(key)?.(m);
          this.waiting.delete(key);
        }
      });
      child.on('exit', (code) => {
        if (code) for (const [key, resolve] of this.waiting) if (key.startsWith(role)) resolve({ type: 'teardown' });
      });
      this.children.set(role, child);
    }
  }

  /** Sends a message to a role and waits for its answer. */
  ask(role: Role, m: ToRole): Promise<FromRole> {
    return new Promise((resolve) => {
      this.waiting.set(`${role}:${m.type}`, resolve);
      this.children.get(role)!.send(m);
    });
  }

  async report(role: Role): Promise<RoleReport> {
    const m = await this.ask(role, { type: 'report' });
    if (m.type !== 'report') throw new Error(`bench:scale ${role} process gave no report (did it exit?)`);
    return m.report;
  }

  stop(): void {
    for (const c of this.children.values()) c.disconnect();
  }
}

/** Runs one cell on an emptied Redis and tears the processes' pullers and round down again. */
export async function runCell(o: CellOptions, procs: BenchProcesses): Promise<CellResult> {
  const admin = connectRedis(o.redisUrl);
  const prober = connectRedis(o.redisUrl);
  const dispatch = o.dispatch ?? 'grants';
  const roles: Role[] = dispatch === 'grants' ? ['dispatcher', 'pullers'] : ['pullers'];
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
    // Registered up front, as a centre's queues exist before the day's work.
    for (const q of infos.flat()) await queues.register(q);
    if (dispatch === 'grants') {
      // The round plans as many slots as the live workers have: their heartbeats.
      const registry = new WorkerRegistry(admin, keys, 3600_000);
      for (let w = 0; w < o.workers; w++) {
        await registry.heartbeat({
          id: `bench-${w}`,
          name: `bench-${w}`,
          caps: benchCaps,
          adapter: 'bench',
          concurrency: o.concurrency,
          running: [],
          startedAt: new Date().toISOString(),
          lastHeartbeat: '',
        });
      }
    }
    const setup = {
      redisUrl: o.redisUrl,
      prefix,
      workers: o.workers,
      concurrency: o.concurrency,
      halfLifeSeconds: o.halfLifeSeconds ?? 3600,
      catchUpSeconds: o.catchUpSeconds ?? 60,
      dispatch,
    };
    for (const role of roles) await procs.ask(role, { type: 'setup', setup });
    procs.done = 0;
    procs.probes.clear();
    // Settle: every puller has made its first round.
    await sleep(1500);

    // Idle: W pullers, T×C queues, nothing queued.
    const i0 = await redisCounters(admin);
    await sleep(o.idleSeconds * 1000);
    const i1 = await redisCounters(admin);
    const idleRedisCommandsPerSec = (i1.calls - i0.calls) / o.idleSeconds;
    const redisClients = Number(/^connected_clients:(\d+)/m.exec(await admin.info('clients'))?.[1] ?? NaN);

    // Load: every job submitted in batches, spread round-robin over tenants, then classes.
    const spec = jobSpec.parse({ type: 'noop', params: {} });
    for (const role of roles) await procs.ask(role, { type: 'measure' });
    const c0 = await redisCounters(admin);
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
    // Latency: a probe tenant submits one job at a time while the load runs, on a connection of its
    // own (as another client's request would be served); its jobs go first by fair share (no
    // usage), so the time to start is the dispatch path's, not a backlog's.
    const probeStore = new JobStore(prober, keys, new TenantQueues(prober, keys, prefix), 3600);
    const probeLatency: number[] = [];
    const probing = (async () => {
      while (loading) {
        const sent = Date.now();
        const [id] = await probeStore.add([{ spec, queue: infos[o.tenants][0] }]);
        while (loading && !procs.probes.has(id)) await sleep(1);
        if (procs.probes.has(id)) probeLatency.push(procs.probes.get(id)! - sent);
        await sleep(10);
      }
    })();
    while (procs.done < o.jobs && performance.now() < deadline) {
      o.onProgress?.(procs.done);
      await sleep(20);
    }
    const seconds = (performance.now() - t0) / 1000;
    const jobsDone = procs.done;
    const c1 = await redisCounters(admin);
    const reports = new Map<Role, RoleReport>();
    for (const role of roles) reports.set(role, await procs.report(role));
    // A short cell may end before its first probes did: a few more, the pullers now idle.
    while (probeLatency.length < MIN_PROBES && performance.now() < deadline + 5000) await sleep(5);
    loading = false;
    await Promise.all([submitting, probing]);
    o.onProgress?.(procs.done);
    probeLatency.sort((a, b) => a - b);
    const planner = reports.get(dispatch === 'grants' ? 'dispatcher' : 'pullers')!;
    const roundMs = [...(reports.get('dispatcher')?.roundMs ?? [])].sort((a, b) => a - b);
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
      rounds: planner.rounds,
      planReadsPerRound: planner.planReads / Math.max(1, planner.rounds),
      roundMs: { p50: percentile(roundMs, 50), p99: percentile(roundMs, 99) },
      loopLagMs: reports.get('pullers')!.lagMs,
      idleRedisCommandsPerSec,
      redisClients,
    };
  } finally {
    for (const role of roles) await procs.ask(role, { type: 'teardown' });
    admin.disconnect();
    prober.disconnect();
  }
}
