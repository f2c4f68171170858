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
//   2. A is below its share:                    r_A < f_A
//   3. B is above its share:                    r_B > f_B
//   4. stability (Kueue's LessThanOrEqualToFinalShare), on the slots each tenant holds in the
//      whole installation (R), per unit of weight:   (R_A + 1) / w_A ≤ (R_B − 1) / w_B
//   5. B keeps its guarantee:                   r_B − 1 ≥ guaranteedShare_B · |P|
//   6. the job may be preempted: it and its tenant did not opt out, and it has run at least
//      its tenant's minRuntimeSeconds (the installation's by default).
// Rule 4 is what makes thrash impossible: after the swap A's slots per weight are at most B's,
// so B can never satisfy rule 4 against A in return (it would need strictly fewer than A).
// It counts all slots, not the pool's: with pools that overlap (workers that serve several
// requirement classes), per-pool counts let A win a slot in one pool and B win it back in another.
// Rule 6 bounds the work lost to a preemption by a job's own progress, and gives every job a
// guaranteed run. Shares are slots held now, not decayed usage: usage history orders dispatch
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
}

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
  let left = tenants.filter((t) => t.demand > 0);
  let remaining = slots;
  for (const t of tenants) out.set(t.name, 0);
  while (left.length > 0 && remaining > 0) {
    const level = remaining / left.reduce((s, t) => s + t.weight, 0);
    const capped = left.filter((t) => t.demand <= level * t.weight);
    if (capped.length === 0) {
      for (const t of left) out.set(t.name, level * t.weight);
      break;
    }
    for (const t of capped) {
      out.set(t.name, t.demand);
      remaining -= t.demand;
    }
    left = left.filter((t) => !capped.includes(t));
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

/** Rule 6: the job itself may be preempted now. */
export function mayPreempt(j: RunningSlot, rules: TenantRules | undefined, input: PreemptionInput): boolean {
  if (!j.preemptible || rules?.preemptible === false) return false;
  const min = rules?.minRuntimeSeconds ?? input.settings.minRuntimeSeconds;
  return input.now - j.startedAt >= min * 1000;
}

const EPS = 1e-9;

export function planPreemptions(input: PreemptionInput): PreemptionDecision[] {
  if (!input.settings.enabled) return [];
  const { tenants, now } = input;
  const rules = (t: string): TenantRules =>
    tenants.get(t) ?? {
      name: t,
      weight: 1,
      maxRunning: Infinity,
      preemptible: true,
      withinTenant: false,
      guaranteedShare: 0,
    };
  const leaving = new Map(input.inFlight.map((f) => [f.job, f.forTenant]));
  // A victim still running counts for the tenant it will be given to, not its own.
  const holder = (j: RunningSlot) => leaving.get(j.job) ?? j.tenant;
  const taken = new Set(leaving.keys());
  const workerById = new Map(input.workers.map((w) => [w.id, w]));
  const running = input.running.filter((j) => workerById.has(j.worker));
  const totalRunning = new Map<string, number>();
  for (const j of running) totalRunning.set(holder(j), (totalRunning.get(holder(j)) ?? 0) + 1);

  const total = (t: string) => totalRunning.get(t) ?? 0;
  const rank = new Map((input.dispatchOrder ?? []).map((t, i) => [t, i]));
  const demands = input.demands
    .filter((d) => d.queued > 0 && d.workers.length > 0)
    .map((d) => ({ ...d }))
    .sort(
      (a, b) =>
        (rank.get(a.tenant) ?? Infinity) - (rank.get(b.tenant) ?? Infinity) ||
        a.tenant.localeCompare(b.tenant) ||
        b.topPriority - a.topPriority,
    );

  const decisions: PreemptionDecision[] = [];
  for (const d of demands) {
    const pool = new Set(d.workers.filter((w) => workerById.has(w)));
    const slots = [...pool].reduce((s, w) => s + workerById.get(w)!.concurrency, 0);
    const busy = () => running.filter((j) => pool.has(j.worker)).length;
    // Rule 1: a free slot is dispatch's business (a slot being freed already counts as taken).
    if (slots - busy() > 0) continue;
    while (d.queued > 0 && (totalRunning.get(d.tenant) ?? 0) < rules(d.tenant).maxRunning) {
      const decision = fairShareVictim(d, pool, slots) ?? priorityVictim(d, pool);
      if (!decision) break;
      decisions.push(decision);
      taken.add(decision.victim.job);
      leaving.set(decision.victim.job, d.tenant);
      totalRunning.set(d.tenant, (totalRunning.get(d.tenant) ?? 0) + 1);
      if (decision.reason === 'fair-share')
        totalRunning.set(decision.victim.tenant, (totalRunning.get(decision.victim.tenant) ?? 0) - 1);
      d.queued--;
    }
  }
  return decisions;

  function poolCounts(pool: Set<string>) {
    const r = new Map<string, number>();
    for (const j of running) if (pool.has(j.worker)) r.set(holder(j), (r.get(holder(j)) ?? 0) + 1);
    const demand = new Map(r);
    for (const o of demands)
      if (o.workers.some((w) => pool.has(w))) demand.set(o.tenant, (demand.get(o.tenant) ?? 0) + o.queued);
    return { r, demand };
  }

  function fairShareVictim(d: QueuedDemand, pool: Set<string>, slots: number): PreemptionDecision | null {
    const { r, demand } = poolCounts(pool);
    const fair = fairShares(
      slots,
      [...demand].map(([name, n]) => ({ name, weight: rules(name).weight, demand: n })),
    );
    const A = rules(d.tenant);
    const rA = r.get(d.tenant) ?? 0;
    const fA = fair.get(d.tenant) ?? 0;
    if (rA >= fA - EPS) return null; // rule 2
    const RA = total(d.tenant);
    const candidates = running.filter((j) => {
      if (!pool.has(j.worker) || taken.has(j.job) || j.tenant === d.tenant) return false;
      const B = rules(j.tenant);
      const rB = r.get(j.tenant) ?? 0;
      return (
        rB > (fair.get(j.tenant) ?? 0) + EPS && // rule 3
        (RA + 1) / A.weight <= (total(j.tenant) - 1) / B.weight + EPS && // rule 4, over all slots
        rB - 1 >= B.guaranteedShare * slots - EPS && // rule 5
        mayPreempt(j, B, input) // rule 6
      );
    });
    const victim = candidates.sort(victimOrder(now))[0];
    return victim ? { victim, forTenant: d.tenant, reason: 'fair-share', share: rA / slots, target: fA / slots } : null;
  }

  function priorityVictim(d: QueuedDemand, pool: Set<string>): PreemptionDecision | null {
    const A = rules(d.tenant);
    if (!A.withinTenant || d.topPriority <= 0) return null;
    const candidates = running.filter(
      (j) =>
        pool.has(j.worker) &&
        !taken.has(j.job) &&
        j.tenant === d.tenant &&
        j.priority < d.topPriority &&
        mayPreempt(j, A, input),
    );
    const victim = candidates.sort(victimOrder(now))[0];
    if (!victim) return null;
    // One per demand per round: only the queue's top priority is known, not how many share it.
    d.topPriority = 0;
    const slots = [...pool].reduce((s, w) => s + workerById.get(w)!.concurrency, 0);
    const rA = poolCounts(pool).r.get(d.tenant) ?? 0;
    return { victim, forTenant: d.tenant, reason: 'priority', share: rA / slots, target: rA / slots };
  }
}
