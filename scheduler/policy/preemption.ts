// The preemption policy, and nothing else: which running jobs stop so that a tenant below its
// fair share gets a slot now, instead of when a long job happens to end.
//
// For a tenant A with queued work in a requirement class, the pool P is the live workers that
// can run that class, |P| their slots. In P, tenant t runs rₜ jobs and wants dₜ = rₜ + its
// queued jobs that P can run. Its fair share fₜ is P's slots water-filled by weight:
//
//   fₜ = min(dₜ, λ · wₜ),  λ chosen so that Σₜ fₜ = min(|P|, Σₜ dₜ)
//
// A may preempt a job of tenant B ≠ A in P when all of these hold:
//   1. no slot of P is free (else dispatch serves A), and A runs fewer than its maxRunning;
//   2. A is below its share by more than half a slot:   r_A + ½ < f_A
//   3. B is above its share by more than half a slot:   r_B − ½ > f_B
//   4. stability, on the slots each tenant holds in the whole installation (R), per unit of
//      weight:   (R_A + ½) / w_A < (R_B − ½) / w_B
//   5. B keeps its guarantee:                   r_B − 1 ≥ guaranteedShare_B · |P|
//   6. the job may be preempted: it and its tenant did not opt out, and it has run at least
//      its tenant's minRuntimeSeconds (the installation's by default), doubled for every time
//      the job was preempted before;
//   7. a rounding swap, one that the whole-slot rules (r_A + 1 ≤ f_A, r_B − 1 ≥ f_B and
//      (R_A + 1)/w_A ≤ (R_B − 1)/w_B: Kueue's LessThanOrEqualToFinalShare) would not allow,
//      only takes a job that has run roundingMinRuntimeSeconds (30 min by default).
// Rule 4 is what makes thrash impossible: a swap changes Φ = Σₜ Rₜ² / wₜ by
// 2 · ((R_A + ½)/w_A − (R_B − ½)/w_B), so rule 4 holds exactly when the swap lowers Φ. Φ is
// bounded below and takes finitely many values, so no sequence of preemptions can come back to
// where it started. It counts all slots, not the pool's: with pools that overlap (workers that
// serve several requirement classes), per-pool counts let A win a slot in one pool and B win it
// back in another. The half slots are what rounding needs: a share of 4.3 can be held as 4 or
// 5, and with whole slots on each side (the rules before) a tenant holding 5 of 4.3 was never a
// donor and one holding 3 of 3.8 never a taker: with days-long jobs, the simulator's small
// tenants sat 12–16 % off their share for hours. Φ is least at Webster's rounding of the
// shares (every tenant within half a slot of λ·w, λ common); rules 2–3 stop short of it where a
// swap would not bring both sides nearer their own shares. 2 tenants of equal weight on 3 slots
// hold 1 and 2 and stay so, since (1 + ½) < (2 − ½) is false. Rule 7 leaves the rounding
// to dispatch while it can do it: a job that has run 30 minutes will likely run on (run times
// are heavy-tailed), while preempting minute-long jobs for half a slot only fought dispatch
// (4.7 times the preemptions in the simulator with minute-long jobs, and longer waits).
// Rule 6 gives every job a guaranteed run, and its doubling bounds how often one job
// can lose its slot as the tenants' mix changes: without it, the simulator's 24 h run at 1,000
// devices preempted one job 61 times (the youngest is the natural victim, and a resumed job is
// young again); with it, 7. Shares are slots held now, not decayed usage: usage history orders dispatch
// (fair-share.ts) but must not drive preemption, or a tenant that ran all night would be
// preempted again and again as its history decays.
//
// Victims among the allowed jobs: lowest priority first, then the least work to lose (the
// least time since its last checkpoint, or since its start), then the youngest. Starved
// tenants are served in dispatch order (the same keys as fair-share.ts), one slot at a time,
// counts updated after each choice, so one round never takes more than the rules allow.
//
// Within a tenant that enables it (withinTenant), queued work of a higher priority than one of
// the tenant's own running jobs preempts that job under rule 6, when no slot is free and the
// fair-share rules found nothing for it. Requests still in progress count as done: the victim's
// slot is already the preemptor's, and the victim is not chosen twice.

export interface PreemptionSettings {
  enabled: boolean;
  /** A job that has run less than this is never preempted (a tenant may set its own). */
  minRuntimeSeconds: number;
  /** Rule 7: a rounding swap takes only a job that has run this long (default 1,800 s). */
  roundingMinRuntimeSeconds?: number;
}

/** Rule 7's default: rounding a share to the slot is left to dispatch for the first 30 minutes of a job. */
export const ROUNDING_MIN_RUNTIME_SECONDS = 1800;

/** A tenant as preemption sees it. */
export interface TenantRules {
  name: string;
  weight: number;
  maxRunning: number;
  /** false: the tenant's jobs are never preempted (they count against its quota as usual). */
  preemptible: boolean;
  /** The tenant's own minimum run time; the installation's when absent. */
  minRuntimeSeconds?: number;
  /** A queued job of this tenant may preempt the tenant's own lower-priority job. */
  withinTenant: boolean;
  /** Slots (as a fraction of a pool) the tenant is never preempted below. */
  guaranteedShare: number;
}

export interface RunningSlot {
  job: string;
  tenant: string;
  /** The worker (its id in the worker table). */
  worker: string;
  priority: number;
  preemptible: boolean;
  /** ms since the epoch. */
  startedAt: number;
  checkpointAt: number | null;
  /** How often the job was preempted before (absent: never). */
  preemptions?: number;
}

export interface PoolWorker {
  id: string;
  concurrency: number;
  running: number;
}

/** A tenant's queued work in one requirement class, and the live workers that can run it. */
export interface QueuedDemand {
  tenant: string;
  queued: number;
  /** The highest priority among the queued jobs (0 when all are at the default). */
  topPriority: number;
  /** Ids of the live workers whose device matches. */
  workers: string[];
}

/** A preemption request still in progress: its victim is leaving, its slot goes to `forTenant`. */
export interface InFlight {
  job: string;
  forTenant: string;
}

export interface PreemptionInput {
  now: number;
  settings: PreemptionSettings;
  tenants: Map<string, TenantRules>;
  workers: PoolWorker[];
  running: RunningSlot[];
  demands: QueuedDemand[];
  inFlight: InFlight[];
  /** Tenant names in dispatch order (fair-share.ts planDispatch); others come after, by name. */
  dispatchOrder?: string[];
}

export interface PreemptionDecision {
  victim: RunningSlot;
  forTenant: string;
  reason: 'fair-share' | 'priority';
  /** The preemptor's slots in the pool at the decision, and its fair share, as fractions of the pool. */
  share: number;
  target: number;
}

/** Water-fills `slots` by weight among tenants' demands: each gets min(demand, λ·weight). */
export function fairShares(slots: number, tenants: { name: string; weight: number; demand: number }[]) {
  const out = new Map<string, number>();
  for (const t of tenants) out.set(t.name, 0);
  // By demand per weight: the tenants capped at their demand come first, in one pass.
  const left = tenants.filter((t) => t.demand > 0).sort((a, b) => a.demand / a.weight - b.demand / b.weight);
  let remaining = slots;
  let weight = left.reduce((s, t) => s + t.weight, 0);
  for (const [i, t] of left.entries()) {
    const level = remaining / weight;
    if (t.demand > level * t.weight) {
      for (const u of left.slice(i)) out.set(u.name, level * u.weight);
      break;
    }
    out.set(t.name, t.demand);
    remaining -= t.demand;
    weight -= t.weight;
  }
  return out;
}

/** Work a preemption would lose, seconds: since the last checkpoint, or since the start. */
export function workAtRisk(j: RunningSlot, now: number): number {
  return Math.max(0, now - Math.max(j.startedAt, j.checkpointAt ?? 0)) / 1000;
}

/** Lowest priority first, then the least work to lose, then the youngest. */
export function victimOrder(now: number) {
  return (a: RunningSlot, b: RunningSlot) =>
    a.priority - b.priority || workAtRisk(a, now) - workAtRisk(b, now) || b.startedAt - a.startedAt;
}

/**
 * Rule 6: the job itself may be preempted now: it did not opt out, and it has run its minimum
 * run time, doubled for each time it was preempted before.
 */
export function mayPreempt(j: RunningSlot, rules: TenantRules | undefined, input: PreemptionInput): boolean {
  if (!j.preemptible || rules?.preemptible === false) return false;
  const min = rules?.minRuntimeSeconds ?? input.settings.minRuntimeSeconds;
  return input.now - j.startedAt >= min * 1000 * 2 ** Math.min(j.preemptions ?? 0, 20);
}

const EPS = 1e-9;

/** A pool's counts, computed once per pool and reused until a decision changes them. */
interface PoolView {
  version: number;
  workers: Set<string>;
  slots: number;
  busy: number;
  /** Slots held in the pool, by tenant (a leaving victim counts for its preemptor). */
  held: Map<string, number>;
  fair: Map<string, number>;
  /** Per tenant, its jobs in the pool that rule 6 allows, best victim first. */
  victims: Map<string, RunningSlot[]>;
  /** The same, only those that rule 7 allows in a rounding swap (they have run long enough). */
  rounding: Map<string, RunningSlot[]>;
  /**
   * Tenants that rules 3 and 5 allow as victims (they do not depend on the preemptor), with
   * their rule-4 bound (R_B − ½) / w_B, highest first: a preemptor's candidates are a prefix.
   */
  donors: { tenant: string; bound: number }[];
}

export function planPreemptions(input: PreemptionInput): PreemptionDecision[] {
  if (!input.settings.enabled) return [];
  const { tenants, now } = input;
  const defaults = new Map<string, TenantRules>();
  const rules = (t: string): TenantRules => {
    const r = tenants.get(t) ?? defaults.get(t);
    if (r) return r;
    const d = { name: t, weight: 1, maxRunning: Infinity, preemptible: true, withinTenant: false, guaranteedShare: 0 };
    defaults.set(t, d);
    return d;
  };
  const roundingAge = (input.settings.roundingMinRuntimeSeconds ?? ROUNDING_MIN_RUNTIME_SECONDS) * 1000;
  const leaving = new Map(input.inFlight.map((f) => [f.job, f.forTenant]));
  // A victim still running counts for the tenant it will be given to, not its own.
  const holder = (j: RunningSlot) => leaving.get(j.job) ?? j.tenant;
  const taken = new Set(leaving.keys());
  const workerById = new Map(input.workers.map((w) => [w.id, w]));
  const running = input.running.filter((j) => workerById.has(j.worker));
  const runningOn = new Map<string, RunningSlot[]>();
  for (const j of running) {
    const list = runningOn.get(j.worker);
    if (list) list.push(j);
    else runningOn.set(j.worker, [j]);
  }
  const totalRunning = new Map<string, number>();
  for (const j of running) totalRunning.set(holder(j), (totalRunning.get(holder(j)) ?? 0) + 1);
  const total = (t: string) => totalRunning.get(t) ?? 0;

  const rank = new Map((input.dispatchOrder ?? []).map((t, i) => [t, i]));
  const demands = input.demands
    .filter((d) => d.queued > 0 && d.workers.length > 0)
    .map((d) => ({ ...d, workers: d.workers.filter((w) => workerById.has(w)).sort() }))
    .filter((d) => d.workers.length > 0)
    .sort(
      (a, b) =>
        (rank.get(a.tenant) ?? Infinity) - (rank.get(b.tenant) ?? Infinity) ||
        a.tenant.localeCompare(b.tenant) ||
        b.topPriority - a.topPriority,
    );

  // Pools are recomputed only after a decision (version) changed the counts they read.
  let version = 0;
  const pools = new Map<string, PoolView>();
  const pool = (d: QueuedDemand): PoolView => {
    const key = d.workers.join('\n');
    const cached = pools.get(key);
    if (cached?.version === version) return cached;
    const workers = new Set(d.workers);
    let slots = 0;
    const jobs: RunningSlot[] = [];
    for (const w of workers) {
      slots += workerById.get(w)!.concurrency;
      jobs.push(...(runningOn.get(w) ?? []));
    }
    const held = new Map<string, number>();
    for (const j of jobs) held.set(holder(j), (held.get(holder(j)) ?? 0) + 1);
    const demand = new Map(held);
    for (const o of demands)
      if (o.queued > 0 && o.workers.some((w) => workers.has(w)))
        demand.set(o.tenant, (demand.get(o.tenant) ?? 0) + o.queued);
    const fair = fairShares(
      slots,
      [...demand].map(([name, n]) => ({ name, weight: rules(name).weight, demand: n })),
    );
    const victims = new Map<string, RunningSlot[]>();
    for (const j of jobs) {
      if (taken.has(j.job) || !mayPreempt(j, rules(j.tenant), input)) continue;
      const list = victims.get(j.tenant);
      if (list) list.push(j);
      else victims.set(j.tenant, [j]);
    }
    const rounding = new Map<string, RunningSlot[]>();
    for (const [t, list] of victims) {
      list.sort(victimOrder(now));
      rounding.set(
        t,
        list.filter((j) => now - j.startedAt >= roundingAge),
      );
    }
    const view: PoolView = { version, workers, slots, busy: jobs.length, held, fair, victims, rounding, donors: [] };
    view.donors = donorsOf(view);
    pools.set(key, view);
    return view;
  };
  function donorsOf(p: PoolView): PoolView['donors'] {
    const donors: PoolView['donors'] = [];
    for (const [t, list] of p.victims) {
      const B = rules(t);
      const rB = p.held.get(t) ?? 0;
      if (list.length && rB - 0.5 > (p.fair.get(t) ?? 0) + EPS && rB - 1 >= B.guaranteedShare * p.slots - EPS)
        donors.push({ tenant: t, bound: (total(t) - 0.5) / B.weight });
    }
    return donors.sort((a, b) => b.bound - a.bound);
  }
  // A decision changes only the holders' counts and the victim lists: the pool it was made in
  // is updated in place (its fair shares stay: the victim is queued again, so no demand
  // changes); other pools are recomputed when next used.
  function applyTo(p: PoolView, x: PreemptionDecision): void {
    const from = x.victim.tenant;
    p.held.set(from, (p.held.get(from) ?? 0) - 1);
    p.held.set(x.forTenant, (p.held.get(x.forTenant) ?? 0) + 1);
    for (const list of [p.victims.get(from)!, p.rounding.get(from)!]) {
      const at = list.indexOf(x.victim);
      if (at >= 0) list.splice(at, 1);
    }
    p.donors = donorsOf(p);
    p.version = version;
  }

  const decisions: PreemptionDecision[] = [];
  for (const d of demands) {
    // Rule 1: a free slot is dispatch's business (a slot being freed already counts as taken).
    if (pool(d).slots - pool(d).busy > 0) continue;
    while (d.queued > 0 && total(d.tenant) < rules(d.tenant).maxRunning) {
      const p = pool(d);
      const decision = fairShareVictim(d, p) ?? priorityVictim(d, p);
      if (!decision) break;
      decisions.push(decision);
      taken.add(decision.victim.job);
      leaving.set(decision.victim.job, d.tenant);
      totalRunning.set(d.tenant, total(d.tenant) + 1);
      if (decision.reason === 'fair-share') totalRunning.set(decision.victim.tenant, total(decision.victim.tenant) - 1);
      d.queued--;
      version++;
      applyTo(p, decision);
    }
  }
  return decisions;

  function fairShareVictim(d: QueuedDemand, p: PoolView): PreemptionDecision | null {
    const A = rules(d.tenant);
    const rA = p.held.get(d.tenant) ?? 0;
    const fA = p.fair.get(d.tenant) ?? 0;
    if (rA + 0.5 >= fA - EPS) return null; // rule 2
    const halfA = (total(d.tenant) + 0.5) / A.weight;
    const wholeA = rA + 1 <= fA + EPS ? (total(d.tenant) + 1) / A.weight : Infinity;
    let best: RunningSlot | null = null;
    const better = victimOrder(now);
    // Rules 3 and 5 made the donors; rule 4 keeps those whose bound is above A's (a prefix);
    // rule 6 made each one's victim list, its head its best victim; rule 7 skips the young ones
    // of a rounding swap.
    for (const { tenant, bound } of p.donors) {
      if (halfA >= bound - EPS) break;
      if (tenant === d.tenant) continue;
      const whole =
        (p.held.get(tenant) ?? 0) - 1 >= (p.fair.get(tenant) ?? 0) - EPS &&
        wholeA <= (total(tenant) - 1) / rules(tenant).weight + EPS;
      const head = (whole ? p.victims : p.rounding).get(tenant)![0];
      if (head && (!best || better(head, best) < 0)) best = head;
    }
    return best
      ? { victim: best, forTenant: d.tenant, reason: 'fair-share', share: rA / p.slots, target: fA / p.slots }
      : null;
  }

  function priorityVictim(d: QueuedDemand, p: PoolView): PreemptionDecision | null {
    if (!rules(d.tenant).withinTenant || d.topPriority <= 0) return null;
    const victim = (p.victims.get(d.tenant) ?? []).find((j) => j.priority < d.topPriority);
    if (!victim) return null;
    // One per demand per round: only the queue's top priority is known, not how many share it.
    d.topPriority = 0;
    const rA = p.held.get(d.tenant) ?? 0;
    return { victim, forTenant: d.tenant, reason: 'priority', share: rA / p.slots, target: rA / p.slots };
  }
}
