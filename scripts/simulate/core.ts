// A discrete-time simulation of the fair-share policy (scheduler/policy/fair-share.ts) on a
// cluster far larger than one machine can run: D identical devices, tenants submitting jobs
// as Poisson processes, the real pickSlots and decay deciding who goes next.
//
// What it simplifies, on purpose (so that 24 h × 10,000 devices × 1,000 tenants runs in
// seconds):
// - Time moves in ticks (default 60 s). At each tick, finished jobs free their devices, new
//   jobs arrive, and every free device is filled in one dispatch round. A device freed
//   mid-tick idles until the tick; a job's run time is rounded up to whole ticks.
// - A round is one call of pickSlots for every free device, as the scheduler's dispatch round
//   makes one per class (timed: that is the "plan compute time" per round): its picks start,
//   its catch-up raises (checked at every pick) are recorded as usage.
// - Usage decays by the half-life every tick. `accounting: 'running'` counts what running jobs
//   have accrued so far, decayed (TenantLoad.runningUsage), and charges that at the end (as the
//   scheduler does: fair-share.ts says why); 'end' charges a job's run time only when it ends
//   (as the worker's ledger did before). The mean job time is the ledger's moving mean (0.9 per job).
// - One device class, no requirements, no quotas (maxRunning = devices), no retries or
//   failures, no priorities within a tenant (FIFO).
// - Preemption (optional): a hook is called every tick, after the round, with the running
//   jobs; scripts/simulate/preemption.ts plugs in the real policy (policy/preemption.ts). A
//   preempted job goes back to the front of its tenant's queue with what it has left to run
//   (usine's train jobs checkpoint on the way out), plus `restartSeconds` of lost work.
import { accrued, decay, isEligible, pickSlots, shareKey, type TenantLoad } from '../../scheduler/policy/fair-share.ts';
import { fairShares } from '../../scheduler/policy/preemption.ts';

export interface SimTenant {
  name: string;
  weight: number;
  /** Poisson arrival rate, jobs per second (while active). */
  jobsPerSecond: number;
  /** When the tenant starts submitting (default 0). */
  fromSeconds?: number;
  /** When it stops submitting (default: never). */
  untilSeconds?: number;
}

export interface RunningJob {
  tenant: number;
  preempted?: number;
  submitted: number;
  started: number;
  seconds: number;
  /** The tick it ends at. */
  endTick: number;
}

/**
 * Called every tick, after the round, with the jobs running then. Returns the jobs to stop and
 * who gets each one's device;
 * they go back to the front of their tenant's queue (their time so far is charged), with the
 * run time they have left plus `restartSeconds`.
 */
export type PreemptionHook = (
  now: number,
  running: readonly RunningJob[],
  tenants: readonly TenantLoad[],
  meanJobSeconds: number,
) => { victim: RunningJob; forTenant: number }[];

export interface SimConfig {
  devices: number;
  tenants: SimTenant[];
  seconds: number;
  tickSeconds: number;
  halfLifeSeconds: number;
  catchUpSeconds: number;
  /** Width of the sliding windows the share error is measured over, and their step. */
  windowSeconds: number;
  windowStepSeconds: number;
  /** Uniform [0, 1) numbers (seeded, for a reproducible run). */
  random: () => number;
  /** A job's run time in seconds. */
  duration: (random: () => number, tenant: number) => number;
  preempt?: PreemptionHook;
  /** Work a preemption loses (loading the checkpoint, warming up again), seconds. */
  restartSeconds?: number;
  /** How usage is charged: when a job ends (the default here; the ledger before), or as it runs (the scheduler). */
  accounting?: 'end' | 'running';
  /**
   * The longest a preemption takes to give a tenant under its share a device (the wait bound's
   * second term under preemption): the minimum run time, plus a round. Absent: no preemption.
   */
  preemptionDelaySeconds?: number;
  /**
   * Dispatch serves the tenants owed a whole device (a slot or more under their water-filled share)
   * before the others: planDispatch's and pickSlots's `capacity`, the devices as one pool.
   */
  dispatchShares?: boolean;
  /** Called at the end of every tick with the tenants' state then (for --explain). */
  observe?: (tick: number, tenants: readonly TenantLoad[]) => void;
  /** Called at every start (for tracing waits): by a dispatch round, or on a device a preemption freed. */
  onStart?: (tenant: number, tick: number, how: 'dispatch' | 'preemption') => void;
  /** Called when a wait under a share ends (or the run does), with its bound. */
  onUnderWait?: (tenant: number, fromSeconds: number, seconds: number, boundSeconds: number) => void;
}

export interface ShareErrorStats {
  /** Tenant-windows measured: a tenant counts in a window when it had queued work at every tick of it. */
  samples: number;
  /** |actual − target| / target, target = weight share among the tenants counted in that window. */
  worst: number;
  p50: number;
  p95: number;
  p99: number;
  worstTenant: string | null;
  worstWindowStartSeconds: number | null;
  /** The worst tenant-window's target in devices (mean over the window), and whether it ran more. */
  worstTargetDevices: number;
  worstOver: boolean;
  /** The same over the tenant-windows whose target is at least 1 % of the devices. */
  large: { samples: number; worst: number; p50: number; p95: number };
}

export interface WaitContext {
  /** Devices it held. */
  held: number;
  /** Its water-filled fair share of the devices. */
  fairShare: number;
  /**
   * Its dispatch key over the median key of the tenants with queued work: above 1, it had used
   * more than most per unit of weight lately (it was paying back usage); below, dispatch owed it.
   */
  keyOverMedian: number;
}

export interface SimResult {
  /** Device-seconds each tenant received, by name. */
  deviceSeconds: Map<string, number>;
  jobsSubmitted: number;
  jobsStarted: number;
  jobsFinished: number;
  /** Used device-seconds over available ones. */
  utilization: number;
  shareError: ShareErrorStats;
  /**
   * The longest time any tenant had queued work without starting a job, against its bound:
   * its fair turn (mean job time / (devices × its weight share among tenants with work)) plus
   * the longest job's run time, plus one tick.
   */
  longestWait: {
    seconds: number;
    tenant: string | null;
    boundSeconds: number;
    worstRatio: number;
    ratioTenant: string | null;
  };
  /**
   * The longest time a tenant had queued work, held fewer devices than its fair share allows
   * (one more would keep it within its water-filled share: the whole-slot form of preemption's
   * rule 2) and started nothing; its bound is its fair turn plus the preemption delay (or the longest job without
   * preemption), plus one tick. Time a tenant spends at its share, running its own long jobs
   * while more of its work waits, is its turn being used, not a wait for it.
   */
  longestWaitUnderShare: {
    seconds: number;
    tenant: string | null;
    boundSeconds: number;
    worstRatio: number;
    ratioTenant: string | null;
    /** Waits under a share (of any length), and how many of them exceeded their bound. */
    waits: number;
    overBound: number;
    /** The longest wait's tenant when it began (why it waited). */
    context: WaitContext;
  };
  longestJobSeconds: number;
  /** Submit→start of every started job. */
  jobWaitSeconds: { p50: number; p99: number; max: number };
  plan: { calls: number; meanMs: number; p99Ms: number; meanEligible: number };
  /** Per tenant, the longest wait with queued work (seconds), by name. */
  tenantLongestWait: Map<string, number>;
  preemptions: { count: number; lostDeviceSeconds: number; maxPerJob: number };
}

function percentile(sorted: ArrayLike<number>, p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

/** A Poisson-distributed count of mean `mean` (Knuth for small means, normal otherwise). */
export function poisson(mean: number, random: () => number): number {
  if (mean <= 0) return 0;
  if (mean > 30) {
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * z));
  }
  const l = Math.exp(-mean);
  let k = 0;
  for (let p = random(); p > l; p *= random()) k++;
  return k;
}

interface Queued {
  submitted: number;
  seconds: number;
  /** Times this job was preempted so far. */
  preempted?: number;
}

const noContext: WaitContext = { held: 0, fairShare: 0, keyOverMedian: NaN };

export function simulate(cfg: SimConfig): SimResult {
  const n = cfg.tenants.length;
  const tick = cfg.tickSeconds;
  const ticks = Math.ceil(cfg.seconds / tick);
  const queues: Queued[][] = cfg.tenants.map(() => []);
  const heads = new Int32Array(n); // queue read positions (arrays are compacted now and then)
  const running = new Int32Array(n);
  const usage = new Float64Array(n);
  // Decayed device-seconds the running jobs have accrued ('running' accounting).
  const runningUsage = new Float64Array(n);
  const continuous = cfg.accounting === 'running';
  const tickAccrual = accrued(tick, cfg.halfLifeSeconds);
  // Since when a tenant has been under its share with queued work and no start (NaN: it is not).
  const underSince = new Float64Array(n).fill(NaN);
  let worstUnder = { seconds: 0, tenant: -1, bound: 0, ...noContext };
  // What the tenant held, its fair share and its key over the median key when its wait began.
  const underContext = Array.from({ length: n }, () => ({ ...noContext }));
  let underWaits = 0;
  let underOver = 0;
  let worstUnderRatio = { ratio: 0, tenant: -1 };
  const received = new Float64Array(n);
  // Completions by tick: devices are freed when their job's tick comes.
  const ending = new Map<number, RunningJob[]>();
  const stepTicks = Math.max(1, Math.round(cfg.windowStepSeconds / tick));
  const steps = Math.ceil(ticks / stepTicks);
  // Per step bucket: device-seconds received, and whether the tenant had queued work at every tick.
  const bucketUse = Array.from({ length: steps }, () => new Float64Array(n));
  const bucketBacklogged = Array.from({ length: steps }, () => new Uint8Array(n).fill(1));
  const gapStart = new Float64Array(n).fill(NaN);
  const tenantLongestWait = new Float64Array(n);
  const loads: TenantLoad[] = cfg.tenants.map((t) => ({
    name: t.name,
    weight: t.weight,
    usage: 0,
    running: 0,
    queued: 0,
    maxRunning: cfg.devices,
  }));
  const indexOf = new Map(cfg.tenants.map((t, i) => [t.name, i]));
  let free = cfg.devices;
  let meanJob = NaN;
  let submitted = 0;
  let started = 0;
  let finished = 0;
  let used = 0;
  let longestJob = 0;
  let worstWait = { seconds: 0, tenant: -1, bound: 0 };
  let worstRatio = { ratio: 0, tenant: -1 };
  const waits: number[] = [];
  const planMs: number[] = [];
  let eligibleSum = 0;
  const preemptions = { count: 0, lostDeviceSeconds: 0, maxPerJob: 0 };
  const queued = (i: number) => queues[i].length - heads[i];

  const startJob = (i: number, now: number, t: number, how: 'dispatch' | 'preemption' = 'dispatch') => {
    cfg.onStart?.(i, t, how);
    const job = queues[i][heads[i]++];
    if (heads[i] > 1024 && heads[i] * 2 > queues[i].length) {
      queues[i] = queues[i].slice(heads[i]);
      heads[i] = 0;
    }
    const runTicks = Math.max(1, Math.ceil(job.seconds / tick));
    const r: RunningJob = {
      tenant: i,
      preempted: job.preempted,
      submitted: job.submitted,
      started: now,
      seconds: job.seconds,
      endTick: t + runTicks,
    };
    const list = ending.get(r.endTick);
    if (list) list.push(r);
    else ending.set(r.endTick, [r]);
    running[i]++;
    free--;
    started++;
    waits.push(now - job.submitted);
    // The tenant's wait with queued work ends here (and a new one starts if more is queued).
    if (!Number.isNaN(gapStart[i])) {
      const gap = now - gapStart[i];
      noteGap(i, gap, now);
    }
    gapStart[i] = queued(i) > 0 ? now : NaN;
    if (!Number.isNaN(underSince[i])) noteUnder(i, now - underSince[i]);
    underSince[i] = NaN;
  };

  let backloggedWeight = 0;
  const noteGap = (i: number, gap: number, _now: number) => {
    if (gap > tenantLongestWait[i]) tenantLongestWait[i] = gap;
    const share = cfg.tenants[i].weight / Math.max(backloggedWeight, cfg.tenants[i].weight);
    const fairTurn = (Number.isFinite(meanJob) ? meanJob : tick) / (cfg.devices * share);
    const bound = fairTurn + longestJob + tick;
    if (gap > worstWait.seconds) worstWait = { seconds: gap, tenant: i, bound };
    if (gap / bound > worstRatio.ratio) worstRatio = { ratio: gap / bound, tenant: i };
  };

  // Devices freed per tick (job ends and preemptions) over the last hour: the rate turns come at.
  const freedTicks = Math.max(1, Math.round(3600 / tick));
  const freedByTick = new Float64Array(freedTicks);
  let freedSum = 0;
  let ticksSeen = 0;
  const noteUnder = (i: number, gap: number) => {
    const share = cfg.tenants[i].weight / Math.max(backloggedWeight, cfg.tenants[i].weight);
    // Its fair turn: the time its weight share of the devices being freed takes to add up to one.
    const freedPerSecond = freedSum / (Math.max(1, Math.min(ticksSeen, freedTicks)) * tick);
    const fairTurn = freedSum > 0 ? 1 / (freedPerSecond * share) : tick;
    const bound = fairTurn + (cfg.preemptionDelaySeconds ?? longestJob) + tick;
    underWaits++;
    if (gap > bound) underOver++;
    cfg.onUnderWait?.(i, underSince[i], gap, bound);
    if (gap > worstUnder.seconds) worstUnder = { seconds: gap, tenant: i, bound, ...underContext[i] };
    if (gap / bound > worstUnderRatio.ratio) worstUnderRatio = { ratio: gap / bound, tenant: i };
  };
  // Who is under its share now: its water-filled share of the devices (by weight, capped at
  // running + queued) has room for one more of its jobs.
  const demand = cfg.tenants.map((t) => ({ name: t.name, weight: t.weight, demand: 0 }));
  const checkUnderShare = (now: number) => {
    for (let i = 0; i < n; i++) demand[i].demand = running[i] + queued(i);
    const fair = fairShares(cfg.devices, demand);
    const mean = Math.max(Number.isFinite(meanJob) ? meanJob : tick, 1e-3);
    let median = NaN;
    for (let i = 0; i < n; i++) {
      const f = fair.get(cfg.tenants[i].name)!;
      const under = queued(i) > 0 && running[i] + 1 <= f + 1e-9;
      if (under && Number.isNaN(underSince[i])) {
        underSince[i] = now;
        if (Number.isNaN(median)) {
          const keys = loads.filter((l) => l.queued > 0).map((l) => shareKey(l, mean));
          median = keys.sort((a, b) => a - b)[keys.length >> 1];
        }
        underContext[i] = { held: running[i], fairShare: f, keyOverMedian: shareKey(loads[i], mean) / median };
      } else if (!under && !Number.isNaN(underSince[i])) {
        noteUnder(i, now - underSince[i]);
        underSince[i] = NaN;
      }
    }
  };

  const endJob = (r: RunningJob, now: number, ranSeconds: number) => {
    running[r.tenant]--;
    free++;
    freedByTick[tickNow % freedTicks]++;
    freedSum++;
    if (continuous) {
      // What it accrued while running moves from running to history, as it stood (decayed).
      const a = accrued(now - r.started, cfg.halfLifeSeconds);
      runningUsage[r.tenant] = running[r.tenant] > 0 ? Math.max(0, runningUsage[r.tenant] - a) : 0;
      usage[r.tenant] += a;
    } else usage[r.tenant] += ranSeconds;
    meanJob = Number.isFinite(meanJob) ? meanJob * 0.9 + ranSeconds * 0.1 : ranSeconds;
    void now;
  };

  let tickNow = 0;
  for (let t = 0; t < ticks; t++) {
    const now = t * tick;
    tickNow = t;
    ticksSeen = t + 1;
    freedSum -= freedByTick[t % freedTicks];
    freedByTick[t % freedTicks] = 0;
    const step = Math.floor(t / stepTicks);
    // Decay, then finish the jobs due now.
    for (let i = 0; i < n; i++) usage[i] = decay(usage[i], tick, cfg.halfLifeSeconds);
    // accrued(r + tick) = accrued(r) decayed by a tick + accrued(tick), for every running job.
    if (continuous)
      for (let i = 0; i < n; i++)
        runningUsage[i] = decay(runningUsage[i], tick, cfg.halfLifeSeconds) + running[i] * tickAccrual;
    for (const r of ending.get(t) ?? []) {
      endJob(r, now, r.seconds);
      finished++;
    }
    ending.delete(t);
    // Arrivals over the tick.
    for (let i = 0; i < n; i++) {
      const ten = cfg.tenants[i];
      if (now < (ten.fromSeconds ?? 0) || now >= (ten.untilSeconds ?? Infinity)) continue;
      const k = poisson(ten.jobsPerSecond * tick, cfg.random);
      for (let j = 0; j < k; j++) {
        const seconds = cfg.duration(cfg.random, i);
        if (seconds > longestJob) longestJob = seconds;
        queues[i].push({ submitted: now, seconds });
      }
      submitted += k;
      if (k > 0 && Number.isNaN(gapStart[i])) gapStart[i] = now;
    }
    for (let i = 0; i < n; i++) {
      loads[i].usage = usage[i];
      loads[i].running = running[i];
      loads[i].queued = queued(i);
      if (continuous) loads[i].runningUsage = runningUsage[i];
    }
    backloggedWeight = 0;
    for (let i = 0; i < n; i++) if (loads[i].queued > 0) backloggedWeight += loads[i].weight;
    const round = () => {
      // The round: one timed pickSlots over every free device, as the scheduler's dispatch round
      // makes per class (`pickSlots(loads, min(slots, queued), mean, catchUp, slots)`).
      if (free <= 0) return;
      const mean = Math.max(Number.isFinite(meanJob) ? meanJob : tick, 1e-3);
      for (const l of loads) if (isEligible(l)) eligibleSum++;
      const t0 = performance.now();
      const plan = pickSlots(loads, free, mean, cfg.catchUpSeconds, cfg.dispatchShares ? cfg.devices : undefined);
      planMs.push(performance.now() - t0);
      // pickSlots has counted each pick in `loads` (running + 1, queued − 1) and set the raised
      // usages there; startJob counts the picks in the simulator's own arrays.
      for (const [name, u] of plan.raised) {
        const i = indexOf.get(name)!;
        usage[i] = Math.max(usage[i], u);
        loads[i].usage = usage[i];
      }
      for (const p of plan.picks) startJob(indexOf.get(p.name)!, now, t);
    };
    round();
    // Preemption after the round, as in usine: only when no device is free.
    if (cfg.preempt) {
      const all = [...ending.values()].flat();
      const mean = Math.max(Number.isFinite(meanJob) ? meanJob : tick, 1e-3);
      for (const { victim: v, forTenant } of cfg.preempt(now, all, loads, mean)) {
        const list = ending.get(v.endTick);
        const at = list?.indexOf(v) ?? -1;
        if (!list || at < 0) continue;
        list.splice(at, 1);
        const ran = now - v.started;
        endJob(v, now, ran);
        const restart = cfg.restartSeconds ?? 0;
        const count = (v.preempted ?? 0) + 1;
        preemptions.count++;
        preemptions.lostDeviceSeconds += restart;
        preemptions.maxPerJob = Math.max(preemptions.maxPerJob, count);
        queues[v.tenant].splice(heads[v.tenant], 0, {
          submitted: v.submitted,
          seconds: Math.max(0, v.seconds - ran) + restart,
          preempted: count,
        });
        if (Number.isNaN(gapStart[v.tenant])) gapStart[v.tenant] = now;
        loads[v.tenant].usage = usage[v.tenant];
        loads[v.tenant].running = running[v.tenant];
        if (continuous) loads[v.tenant].runningUsage = runningUsage[v.tenant];
        loads[v.tenant].queued = queued(v.tenant);
        // The freed device is reserved for the preemptor's tenant, as a worker does.
        if (queued(forTenant) > 0) {
          startJob(forTenant, now, t, 'preemption');
          loads[forTenant].running++;
          loads[forTenant].queued--;
        }
      }
      round(); // devices the preemptors could not use
    }
    // Accounting for the step bucket: who ran, and who had queued work all along.
    for (let i = 0; i < n; i++) {
      bucketUse[step][i] += running[i] * tick;
      received[i] += running[i] * tick;
      if (queued(i) === 0) bucketBacklogged[step][i] = 0;
    }
    used += (cfg.devices - free) * tick;
    for (let i = 0; i < n; i++) {
      loads[i].usage = usage[i];
      loads[i].running = running[i];
      loads[i].queued = queued(i);
      if (continuous) loads[i].runningUsage = runningUsage[i];
    }
    checkUnderShare(now);
    cfg.observe?.(t, loads);
  }
  const end = ticks * tick;
  for (let i = 0; i < n; i++) if (!Number.isNaN(gapStart[i])) noteGap(i, end - gapStart[i], end);
  for (let i = 0; i < n; i++) if (!Number.isNaN(underSince[i])) noteUnder(i, end - underSince[i]);

  // Share error over sliding windows of whole step buckets.
  const windowSteps = Math.max(1, Math.round(cfg.windowSeconds / (stepTicks * tick)));
  const windowLength = windowSteps * stepTicks * tick;
  const errors: number[] = [];
  const largeErrors: number[] = [];
  let worst = { err: 0, tenant: -1, at: -1, targetDevices: NaN, over: false };
  for (let s0 = 0; s0 + windowSteps <= steps; s0++) {
    const counted: number[] = [];
    for (let i = 0; i < n; i++) {
      let all = true;
      for (let s = s0; s < s0 + windowSteps && all; s++) all = bucketBacklogged[s][i] === 1;
      if (all) counted.push(i);
    }
    // One tenant alone with work has all of it: nothing to compare.
    if (counted.length < 2) continue;
    const use = counted.map((i) => {
      let u = 0;
      for (let s = s0; s < s0 + windowSteps; s++) u += bucketUse[s][i];
      return u;
    });
    const totalUse = use.reduce((a, b) => a + b, 0);
    const totalWeight = counted.reduce((a, i) => a + cfg.tenants[i].weight, 0);
    if (totalUse <= 0) continue;
    counted.forEach((i, k) => {
      const target = cfg.tenants[i].weight / totalWeight;
      const err = Math.abs(use[k] / totalUse - target) / target;
      errors.push(err);
      // Its target in devices: its share of what the counted tenants ran over the window.
      if ((target * totalUse) / windowLength >= 0.01 * cfg.devices) largeErrors.push(err);
      if (err > worst.err) {
        const targetDevices = (target * totalUse) / windowLength;
        worst = { err, tenant: i, at: s0 * stepTicks * tick, targetDevices, over: use[k] / totalUse > target };
      }
    });
  }
  errors.sort((a, b) => a - b);
  largeErrors.sort((a, b) => a - b);
  waits.sort((a, b) => a - b);
  const planSorted = [...planMs].sort((a, b) => a - b);
  const byName = (xs: ArrayLike<number>) => new Map(cfg.tenants.map((t, i) => [t.name, xs[i]]));
  const nameOf = (i: number) => (i >= 0 ? cfg.tenants[i].name : null);
  /** The longest wait and the worst wait-to-bound ratio, named. */
  const waitReport = (w: { seconds: number; tenant: number; bound: number }, r: { ratio: number; tenant: number }) => ({
    seconds: w.seconds,
    tenant: nameOf(w.tenant),
    boundSeconds: w.bound,
    worstRatio: r.ratio,
    ratioTenant: nameOf(r.tenant),
  });
  return {
    deviceSeconds: byName(received),
    jobsSubmitted: submitted,
    jobsStarted: started,
    jobsFinished: finished,
    utilization: used / (cfg.devices * end),
    shareError: {
      samples: errors.length,
      worst: errors.length ? errors[errors.length - 1] : NaN,
      p50: percentile(errors, 50),
      p95: percentile(errors, 95),
      p99: percentile(errors, 99),
      worstTenant: nameOf(worst.tenant),
      worstWindowStartSeconds: worst.tenant >= 0 ? worst.at : null,
      worstTargetDevices: worst.targetDevices,
      worstOver: worst.over,
      large: {
        samples: largeErrors.length,
        worst: largeErrors.at(-1) ?? NaN,
        p50: percentile(largeErrors, 50),
        p95: percentile(largeErrors, 95),
      },
    },
    longestWait: waitReport(worstWait, worstRatio),
    longestWaitUnderShare: {
      ...waitReport(worstUnder, worstUnderRatio),
      waits: underWaits,
      overBound: underOver,
      context: { held: worstUnder.held, fairShare: worstUnder.fairShare, keyOverMedian: worstUnder.keyOverMedian },
    },
    longestJobSeconds: longestJob,
    jobWaitSeconds: { p50: percentile(waits, 50), p99: percentile(waits, 99), max: waits.at(-1) ?? NaN },
    plan: {
      calls: planMs.length,
      meanMs: planMs.reduce((a, b) => a + b, 0) / Math.max(1, planMs.length),
      p99Ms: percentile(planSorted, 99),
      meanEligible: eligibleSum / Math.max(1, planMs.length),
    },
    tenantLongestWait: byName(tenantLongestWait),
    preemptions,
  };
}
