// The fair-share policy, and nothing else: which tenant's job a free device slot takes next.
//
//   usageₜ(now) = Σ_jobs deviceSecondsⱼ · 2^(−(now − finishⱼ) / halfLife)      (decayed usage)
//   keyₜ        = (usageₜ + runningₜ · meanJobSeconds) / weightₜ
//
//   keyₜ        = max(keyₜ, min over the other eligible tenants of their key − catchUp)
//
// A free slot goes to the eligible tenant with the smallest key (ties: fewer running, then
// name). Eligible: has queued work this slot can run, and runs fewer than its maxRunning.
// Among tenants that keep work queued, device time therefore converges to the weight
// ratio (each slot evens out usage/weight); idle capacity goes to whoever has work (work-
// conserving); a tenant that stops being served sees its key fall behind the others' and
// is served next (no starvation). Running jobs count as `meanJobSeconds` each so that two
// slots freed at once don't both go to the same tenant before its usage is recorded.
// The half-life gives usage a memory: a tenant that ran all night yields to others in the
// morning, and is forgiven after a few half-lives (Slurm's and Kueue's fair sharing).
// The catch-up bound (device-seconds per unit of weight) keeps that memory from starving
// anyone: a tenant arriving with little past usage takes every free slot only until it is
// `catchUp` behind the others, then shares by weight (as CFS bounds a waking task's credit).

export interface TenantLoad {
  name: string;
  weight: number;
  /** Decayed device-seconds at the time of the decision. */
  usage: number;
  running: number;
  queued: number;
  maxRunning: number;
}

/** Usage `elapsedSeconds` later, halving every `halfLifeSeconds`. */
export function decay(usage: number, elapsedSeconds: number, halfLifeSeconds: number): number {
  if (elapsedSeconds <= 0) return usage;
  return usage * Math.pow(2, -elapsedSeconds / halfLifeSeconds);
}

export function shareKey(t: TenantLoad, meanJobSeconds: number): number {
  return (t.usage + t.running * meanJobSeconds) / t.weight;
}

export function isEligible(t: TenantLoad): boolean {
  return t.queued > 0 && t.running < t.maxRunning;
}

export interface DispatchPlan {
  /** Eligible tenants, the one to serve first at the front. */
  order: TenantLoad[];
  /** Usage to record for tenants whose catch-up was bounded (raise only, never lower). */
  raised: Map<string, number>;
}

/** Orders the eligible tenants; bounds a newcomer's catch-up by raising its recorded usage. */
export function planDispatch(tenants: TenantLoad[], meanJobSeconds: number, catchUpSeconds = Infinity): DispatchPlan {
  const keyed = tenants.filter(isEligible).map((t) => ({ t, key: shareKey(t, meanJobSeconds) }));
  const raised = new Map<string, number>();
  if (keyed.length > 1 && Number.isFinite(catchUpSeconds)) {
    for (const x of keyed) {
      const floor = Math.min(...keyed.filter((o) => o !== x).map((o) => o.key)) - catchUpSeconds;
      if (x.key < floor) {
        // The raise persists, as CFS sets a waking task's vruntime: a stateless clamp would
        // keep the newcomer first until its real usage caught up, starving the others.
        const usage = floor * x.t.weight - x.t.running * meanJobSeconds;
        raised.set(x.t.name, usage);
        x.t = { ...x.t, usage };
        x.key = floor;
      }
    }
  }
  const order = keyed
    .sort((a, b) => a.key - b.key || a.t.running - b.t.running || a.t.name.localeCompare(b.t.name))
    .map((x) => x.t);
  return { order, raised };
}

export interface ShareReport {
  /** The tenant's target: its weight over the weights of tenants with work (0..1). */
  weightShare: number;
  /** Its decayed usage over everyone's (0..1). */
  usageShare: number;
}

/** Per-tenant target and actual shares, for metrics and `usine usage`. */
export function shares(tenants: TenantLoad[]): Map<string, ShareReport> {
  const active = tenants.filter((t) => t.queued + t.running > 0);
  const pool = active.length > 0 ? active : tenants;
  const totalWeight = pool.reduce((s, t) => s + t.weight, 0);
  const totalUsage = tenants.reduce((s, t) => s + t.usage, 0);
  const out = new Map<string, ShareReport>();
  for (const t of tenants) {
    out.set(t.name, {
      weightShare: pool.includes(t) && totalWeight > 0 ? t.weight / totalWeight : 0,
      usageShare: totalUsage > 0 ? t.usage / totalUsage : 0,
    });
  }
  return out;
}
