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
import {
  PROBE,
  benchCaps,
  type FromRole,
  type ProcessName,
  type Role,
  type RoleReport,
  type RoleSetup,
  type ToRole,
} from './roles.ts';

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
  /** Length of the steady phase at half the flood's throughput (0: none). */
  steadySeconds?: number;
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
  /** The same at a steady load of half the flood's throughput (`jobsPerSec`), after it. */
  steadySubmitToStartMs: { p50: number; p99: number; samples: number; jobsPerSec: number };
  redisMicrosPerJob: number;
  redisCommandsPerJob: number;
  /** The same by command name, most first (commands run inside scripts count under their own names). */
  commandsPerJob: Record<string, number>;
  /**
   * µs per job spent inside each command, by name (Redis' commandstats). A command a script
   * calls counts under its own name and again inside the script's EVALSHA; what the CPU figure
   * has beyond the scripts and the top-level commands is Redis' network I/O.
   */
  redisMicrosPerJobByCommand: Record<string, number>;
  /** CPU µs per job by process: Redis, the round (dispatcher), the pullers (all), the bench (submitter). */
  cpuMicrosPerJob: { redis: number; round: number; pullers: number; submitter: number };
  /** Dispatch rounds (plans) during the load phase: the scheduler's (grants) or all pullers' (local). */
  rounds: number;
  /**
   * Redis reads a round makes to plan (index, queue counts, usage, tables), averaged over the
   * rounds; the round's snapshot script counts as the reads it runs inside Redis.
   */
  planReadsPerRound: number;
  /** The scheduler's rounds' durations (grants mode; NaN in local mode). */
  roundMs: { p50: number; p99: number };
  /** The pullers' processes' event-loop delay during the load (the worst process' p50 and p99). */
  loopLagMs: { p50: number; p99: number };
  idleRedisCommandsPerSec: number;
  /** Redis connections open while idle (two per puller: its commands and its subscriptions). */
  redisClients: number;
}

const MIN_PROBES = 5;
/** The steady phase submits a batch this often (ms). */
const STEADY_TICK_MS = 20;

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
/** Redis' CPU seconds, and its command counters: calls and µs inside each command, by name. */
async function redisCounters(
  r: Redis,
): Promise<{ cpu: number; calls: number; byCommand: Map<string, number>; usecByCommand: Map<string, number> }> {
  const [cpu, stats] = await Promise.all([r.info('cpu'), r.info('commandstats')]);
  const num = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? NaN);
  let calls = 0;
  const byCommand = new Map<string, number>();
  const usecByCommand = new Map<string, number>();
  for (const m of stats.matchAll(/^cmdstat_(\S+?):calls=(\d+),usec=(\d+)/gm)) {
    // The bench's own INFO calls are not the pullers' work.
    if (m[1] === 'info') continue;
    calls += Number(m[2]);
    byCommand.set(m[1], Number(m[2]));
    usecByCommand.set(m[1], Number(m[3]));
  }
  return { cpu: num('used_cpu_user') + num('used_cpu_sys'), calls, byCommand, usecByCommand };
}

/** A counter's growth per job by name, most first (the load phase's, from two readings of the counters). */
function perJob(before: Map<string, number>, after: Map<string, number>, jobs: number): Record<string, number> {
  const out: [string, number][] = [];
  for (const [name, n] of after) {
    const d = n - (before.get(name) ?? 0);
    if (d > 0) out.push([name, d / Math.max(1, jobs)]);
  }
  return Object.fromEntries(out.sort((a, b) => b[1] - a[1]));
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The bench's child processes (roles.ts): the dispatcher and up to N pullers' processes, kept for the whole run. */
export class BenchProcesses {
  private readonly children = new Map<ProcessName, ChildProcess>();
  private readonly waiting = new Map<string, (m: FromRole) => void>();
  private readonly done = new Map<ProcessName, number>();
  /** Probe jobs started: id → when (the pullers' clock, the same machine's). */
  readonly probes = new Map<string, number>();

  /**
   * `pullerProcesses`: how many pullers' processes to start (one per puller up to this many).
   * `cpuProfileDir`: each process writes a V8 CPU profile there when it exits.
   */
  constructor(
    readonly pullerProcesses: number,
    private readonly cpuProfileDir?: string,
  ) {}

  start(): void {
    const main = path.join(import.meta.dirname, 'role-main.ts');
    const names: ProcessName[] = ['dispatcher'];
    for (let i = 0; i < this.pullerProcesses; i++) names.push(`pullers-${i}`);
    for (const name of names) {
      const role: Role = name === 'dispatcher' ? 'dispatcher' : 'pullers';
      const child = fork(main, [role], {
        execArgv: [
          '--import',
          'tsx',
          ...(this.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${this.cpuProfileDir}`] : []),
        ],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.on('message', (m: FromRole) => {
        if (m.type === 'progress') this.done.set(name, m.done);
        else if (m.type === 'probe') this.probes.set(m.id, m.at);
        else {
          const key = `${name}:${m.type}`;
          this.waiting.get(key)?.(m);
          this.waiting.delete(key);
        }
      });
      child.on('exit', (code) => {
        if (code)
          for (const [key, resolve] of this.waiting) if (key.startsWith(`${name}:`)) resolve({ type: 'teardown' });
      });
      this.children.set(name, child);
    }
  }

  /** Jobs done so far in the current cell, over all pullers' processes. */
  get jobsDone(): number {
    let n = 0;
    for (const d of this.done.values()) n += d;
    return n;
  }

  resetCell(): void {
    this.done.clear();
    this.probes.clear();
  }

  /** Sends a message to a process and waits for its answer. */
  ask(name: ProcessName, m: ToRole): Promise<FromRole> {
    return new Promise((resolve) => {
      this.waiting.set(`${name}:${m.type}`, resolve);
      this.children.get(name)!.send(m);
    });
  }

  async report(name: ProcessName): Promise<RoleReport> {
    const m = await this.ask(name, { type: 'report' });
    if (m.type !== 'report') throw new Error(`bench:scale ${name} process gave no report (did it exit?)`);
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
  // One process per puller while there are enough; else the W pullers shared out over them.
  const used = Math.min(o.workers, procs.pullerProcesses);
  const pullerProcs: ProcessName[] = Array.from({ length: used }, (_, i) => `pullers-${i}` as const);
  const roles: ProcessName[] = dispatch === 'grants' ? ['dispatcher', ...pullerProcs] : pullerProcs;
  try {
    // Each cell starts from nothing: the previous cell's queues and kept jobs would skew it.
    await admin.flushall();
    const prefix = 'scale';
    const keys = new Keys(prefix);
    const tenants = Array.from({ length: o.tenants }, (_, i) =>
      tenantSchema.parse({ name: tenantName(i), weight: benchWeight(i) }),
    );
    // The probe tenant weighs as much as all the others together: with one job at a time it is
    // always far under its share, so fair share puts its job first and its wait is the dispatch
    // path's. (At weight 1 it was one tenant among 1,000 with the same near-zero usage of no-op
    // jobs, and its wait was its turn in the backlog.)
    const others = tenants.reduce((sum, t) => sum + t.weight, 0);
    tenants.push(tenantSchema.parse({ name: PROBE, weight: others }));
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
    const setupOf = (name: ProcessName): RoleSetup => {
      const i = name === 'dispatcher' ? 0 : Number(name.slice('pullers-'.length));
      // Process i runs pullers [first, first + n): W shared out as evenly as it goes.
      const first = Math.floor((i * o.workers) / used);
      const n = name === 'dispatcher' ? 0 : Math.floor(((i + 1) * o.workers) / used) - first;
      return {
        redisUrl: o.redisUrl,
        prefix,
        workers: n,
        firstWorker: first,
        concurrency: o.concurrency,
        halfLifeSeconds: o.halfLifeSeconds ?? 900,
        catchUpSeconds: o.catchUpSeconds ?? 60,
        dispatch,
      };
    };
    procs.resetCell();
    await Promise.all(roles.map((name) => procs.ask(name, { type: 'setup', setup: setupOf(name) })));
    // Settle: every puller has made its first round, and the round has answered them (at W=32 on
    // a loaded machine 1.5 s was not always enough: the idle window then caught their start, 15/s).
    await sleep(1500 + 50 * o.workers);

    // Idle: W pullers, T×C queues, nothing queued.
    const i0 = await redisCounters(admin);
    await sleep(o.idleSeconds * 1000);
    const i1 = await redisCounters(admin);
    const idleRedisCommandsPerSec = (i1.calls - i0.calls) / o.idleSeconds;
    const redisClients = Number(/^connected_clients:(\d+)/m.exec(await admin.info('clients'))?.[1] ?? NaN);

    // Load: every job submitted in batches, spread round-robin over tenants, then classes.
    const spec = jobSpec.parse({ type: 'noop', params: {} });
    await Promise.all(roles.map((name) => procs.ask(name, { type: 'measure' })));
    const c0 = await redisCounters(admin);
    const cpu0 = process.cpuUsage();
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
    // own (as another client's request would be served); its jobs go first by fair share, so the
    // time to start is the dispatch path's, not a backlog's.
    const probeStore = new JobStore(prober, keys, new TenantQueues(prober, keys, prefix), 3600);
    const probe = async (going: () => boolean, out: number[]) => {
      while (going()) {
        const sent = Date.now();
        const [id] = await probeStore.add([{ spec, queue: infos[o.tenants][0] }]);
        while (going() && !procs.probes.has(id)) await sleep(1);
        if (procs.probes.has(id)) out.push(procs.probes.get(id)! - sent);
        await sleep(10);
      }
    };
    const probeLatency: number[] = [];
    const probing = probe(() => loading, probeLatency);
    while (procs.jobsDone < o.jobs && performance.now() < deadline) {
      o.onProgress?.(procs.jobsDone);
      await sleep(20);
    }
    const seconds = (performance.now() - t0) / 1000;
    const jobsDone = procs.jobsDone;
    const c1 = await redisCounters(admin);
    const cpuBench = process.cpuUsage(cpu0);
    const reports = new Map<ProcessName, RoleReport>();
    for (const name of roles) reports.set(name, await procs.report(name));
    // A short cell may end before its first probes did: a few more, the pullers now idle.
    while (probeLatency.length < MIN_PROBES && performance.now() < deadline + 5000) await sleep(5);
    loading = false;
    await Promise.all([submitting, probing]);
    o.onProgress?.(procs.jobsDone);
    probeLatency.sort((a, b) => a - b);

    // Steady: the same tenants submit at half the flood's throughput, a batch every 20 ms, for
    // steadySeconds. Under the flood every process on the machine queues for CPU (two cores for
    // Redis, the round, the pullers and the submitter), and the probe's wait is mostly that; at
    // half load it is the dispatch path's.
    const steadyRate = jobsDone / seconds / 2;
    const steadyLatency: number[] = [];
    if ((o.steadySeconds ?? 0) > 0 && steadyRate > 0) {
      const end = performance.now() + o.steadySeconds! * 1000;
      const steadyProbing = probe(() => performance.now() < end, steadyLatency);
      let owed = 0;
      let k = 0;
      for (let at = performance.now(); at < end; at += STEADY_TICK_MS) {
        owed += (steadyRate * STEADY_TICK_MS) / 1000;
        const batch: NewJob[] = [];
        for (; owed >= 1; owed--, k++)
          batch.push({ spec, queue: infos[k % o.tenants][Math.floor(k / o.tenants) % o.classes] });
        if (batch.length) await store.add(batch);
        await sleep(Math.max(0, at + STEADY_TICK_MS - performance.now()));
      }
      await steadyProbing;
      steadyLatency.sort((a, b) => a - b);
    }
    // The plans: the scheduler's rounds, or (local) every puller's.
    const planners = dispatch === 'grants' ? [reports.get('dispatcher')!] : pullerProcs.map((n) => reports.get(n)!);
    const planner = {
      rounds: planners.reduce((sum, r) => sum + r.rounds, 0),
      planReads: planners.reduce((sum, r) => sum + r.planReads, 0),
    };
    const roundMs = [...(reports.get('dispatcher')?.roundMs ?? [])].sort((a, b) => a - b);
    const lags = pullerProcs.map((n) => reports.get(n)!.lagMs);
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
      steadySubmitToStartMs: {
        p50: percentile(steadyLatency, 50),
        p99: percentile(steadyLatency, 99),
        samples: steadyLatency.length,
        jobsPerSec: steadyRate,
      },
      redisMicrosPerJob: ((c1.cpu - c0.cpu) * 1e6) / Math.max(1, jobsDone),
      redisCommandsPerJob: calls / Math.max(1, jobsDone),
      commandsPerJob: perJob(c0.byCommand, c1.byCommand, jobsDone),
      redisMicrosPerJobByCommand: perJob(c0.usecByCommand, c1.usecByCommand, jobsDone),
      cpuMicrosPerJob: {
        redis: ((c1.cpu - c0.cpu) * 1e6) / Math.max(1, jobsDone),
        round: ((reports.get('dispatcher')?.cpuMs ?? 0) * 1000) / Math.max(1, jobsDone),
        pullers: (pullerProcs.reduce((sum, n) => sum + reports.get(n)!.cpuMs, 0) * 1000) / Math.max(1, jobsDone),
        submitter: (cpuBench.user + cpuBench.system) / Math.max(1, jobsDone),
      },
      rounds: planner.rounds,
      planReadsPerRound: planner.planReads / Math.max(1, planner.rounds),
      roundMs: { p50: percentile(roundMs, 50), p99: percentile(roundMs, 99) },
      loopLagMs: { p50: Math.max(...lags.map((l) => l.p50)), p99: Math.max(...lags.map((l) => l.p99)) },
      idleRedisCommandsPerSec,
      redisClients,
    };
  } finally {
    await Promise.all(roles.map((name) => procs.ask(name, { type: 'teardown' })));
    admin.disconnect();
    prober.disconnect();
  }
}
