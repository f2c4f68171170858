// The fair-share policy, and nothing else: which tenant's job a free device slot takes next.
//
//   usageₜ(now) = Σ_ended jobs accrued(ranⱼ) · 2^(−(now − finishⱼ) / halfLife)   (decayed usage)
//   keyₜ        = (usageₜ + accruedₜ + runningₜ · meanJobSeconds) / weightₜ
//   accruedₜ    = Σ_running jobs accrued(ranⱼ)   (their decayed device-seconds so far; 0 if not given)
//
//   keyₜ        = max(keyₜ, keyₛ − catchUp − meanJobSeconds / weightₛ)
//                 s: the eligible tenant other than t first in order (key, fewer running, name)
//                 (only the smallest key can be raised, so this is O(n): see catchUpFloor)
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
// Running jobs count what they have run so far, decayed like the rest (`accrued`): usage
// charged only when a job ends makes a tenant holding devices for hours look idle until the
// end, then charges all of it at once as if it had just run (a 3-day job weighs 50 times
// what one device held steadily does, h/ln 2). The simulator showed both: tenants with
// long jobs drew more than their share from dispatch, and were then shut out for hours.
// The catch-up bound (device-seconds per unit of weight) keeps that memory from starving
// anyone: a tenant arriving with little past usage takes every free slot only until it is
// `catchUp` behind the others, then shares by weight (as CFS bounds a waking task's credit).
// The floor leaves room for one pick of the tenant above, s (its step, meanJobSeconds / weightₛ):
// a pick raises the picked key by its step, so a backlogged tenant is normally up to one step of
// the other's behind it (10-minute jobs: 600 s at weight 1), whatever the bound. Without the step,
// a bound under it raised the tenant behind at every pick, and tenants alternated whatever their
// weights (1 and 3 shared 48/52). With it, keys that got where they are by picks alone are never
// raised (s was at most the smallest key when last picked), and a newcomer's credit stays bounded:
// catchUp · its weight, plus one job of s's times their weights' ratio (what one turn of picks by
// weight gives it anyway). Only s counts, not the lowest keyₒ − stepₒ of all the others (which
// picks never raise either): a heap yields s in O(1), and it bounds the credit tighter.
//
// Given the pool's `capacity` (its slots), dispatch first serves the tenants owed a whole slot:
// those holding at least one slot fewer than their share of the pool water-filled by weight
// (preemption's fₜ, preemption.ts), by key among them; then everyone by key. Keys rank by decayed
// usage, which lags the slots held: a tenant whose jobs just ended, or whose share just rose,
// keeps a key near the others' while it holds a slot or more under its share, and dispatch gave
// each freed slot to the lowest key, mostly small tenants a fraction of a slot under. Big tenants
// fell 1–3 slots under for up to 10 minutes (#14 bounds that wait by their fair turn, tens of
// seconds for them, plus the preemption delay), and preemption took back from others what
// dispatch had given them. In the simulator (10,000 devices, 1,000 tenants, 24 h) serving the
// owed first brought those waits within the bound and halved the preemptions; the key still
// shares each fraction of a slot over time.

import { fairShares } from './preemption.ts';

export interface TenantLoad {
  name: string;
  weight: number;
  /** Decayed device-seconds at the time of the decision. */
  usage: number;
  running: number;
  queued: number;
  maxRunning: number;
  /**
   * Decayed device-seconds its running jobs have accrued so far (Σ `accrued`). Absent: running
   * jobs are charged only when they end (then `usage` must have been charged in full).
   */
  runningUsage?: number;
  /**
   * Its running jobs in the pool of `capacity` slots (pickSlots, planDispatch), where `running`
   * counts all of them, for the key: a tenant's share of a pool is what it holds there, as
   * preemption counts it. Absent: `running` (one pool).
   */
  poolRunning?: number;
}

/** Usage `elapsedSeconds` later, halving every `halfLifeSeconds`. */
export function decay(usage: number, elapsedSeconds: number, halfLifeSeconds: number): number {
  if (elapsedSeconds <= 0) return usage;
  return usage * Math.pow(2, -elapsedSeconds / halfLifeSeconds);
}

/**
 * What `ranSeconds` of one device, up to now, weighs in decayed usage: ∫ 2^(−s/h) ds over the run,
 * = h/ln 2 · (1 − 2^(−ran/h)). Charged continuously, usage is the decayed history plus this for
 * every running job; a job that ends adds this, not its raw seconds, to the history.
 */
export function accrued(ranSeconds: number, halfLifeSeconds: number): number {
  if (!(ranSeconds > 0)) return 0;
  return (halfLifeSeconds / Math.LN2) * -Math.expm1((-ranSeconds * Math.LN2) / halfLifeSeconds);
}

export function shareKey(t: TenantLoad, meanJobSeconds: number): number {
  return (t.usage + (t.runningUsage ?? 0) + t.running * meanJobSeconds) / t.weight;
}

export function isEligible(t: TenantLoad): boolean {
  return t.queued > 0 && t.running < t.maxRunning;
}

/**
 * Each tenant's share of `capacity` slots water-filled by weight, its demand what it runs plus what
 * it has queued (preemption's fₜ, for one pool).
 */
export function holdingShares(tenants: readonly TenantLoad[], capacity: number): Map<string, number> {
  return fairShares(
    capacity,
    tenants.map((t) => ({ name: t.name, weight: t.weight, demand: (t.poolRunning ?? t.running) + t.queued })),
  );
}

/** The tenant holds a whole slot or more under its share of the pool (preemption's rule 2 in whole slots). */
export function owedSlot(t: TenantLoad, share: number | undefined): boolean {
  return share !== undefined && (t.poolRunning ?? t.running) + 1 <= share + 1e-9;
}

export interface DispatchPlan {
  /** Eligible tenants, the one to serve first at the front. */
  order: TenantLoad[];
  /** Usage to record for tenants whose catch-up was bounded (raise only, never lower). */
  raised: Map<string, number>;
}

/** Orders key, then fewer running, then name: negative when `a` goes before `b`. */
function before(a: TenantLoad, ka: number, b: TenantLoad, kb: number): number {
  // Names by code point, not localeCompare (ICU): ties are common (tenants with no usage yet),
  // and this runs for every comparison of a round's picks.
  return ka - kb || a.running - b.running || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * The catch-up floor for the tenant at `first` (the smallest key): the first of the *other*
 * tenants in order, s, gives keyₛ − bound − its step (meanJobSeconds / weightₛ). For every other
 * tenant, s is the overall first, so its floor lies under the smallest key, never above its own:
 * with a bound ≥ 0 only the smallest key can be raised, and raising it (still under keyₛ) raises
 * no one else. That makes the floor O(n): no "first of all but me" per tenant.
 */
function catchUpFloor(
  keyed: { t: TenantLoad; key: number }[],
  first: number,
  catchUpSeconds: number,
  meanJobSeconds: number,
): number | null {
  if (keyed.length < 2 || !Number.isFinite(catchUpSeconds)) return null;
  let s = first === 0 ? 1 : 0;
  for (let i = s + 1; i < keyed.length; i++)
    if (i !== first && before(keyed[i].t, keyed[i].key, keyed[s].t, keyed[s].key) < 0) s = i;
  const floor = keyed[s].key - catchUpSeconds - meanJobSeconds / keyed[s].t.weight;
  return keyed[first].key < floor ? floor : null;
}

function checkCatchUp(catchUpSeconds: number): void {
  if (!(catchUpSeconds >= 0))
    throw new RangeError(`catch-up bound must be ≥ 0 device-seconds per weight, got ${catchUpSeconds}`);
}

function argSmallestKey(keys: number[]): number {
  let m = 0;
  for (let i = 1; i < keys.length; i++) if (keys[i] < keys[m]) m = i;
  return m;
}

/**
 * Orders the eligible tenants; bounds a newcomer's catch-up by raising its recorded usage. With the
 * pool's `capacity`, the tenants owed a whole slot come first (see above).
 */
export function planDispatch(
  tenants: TenantLoad[],
  meanJobSeconds: number,
  catchUpSeconds = Infinity,
  capacity?: number,
): DispatchPlan {
  checkCatchUp(catchUpSeconds);
  const held = capacity === undefined ? null : holdingShares(tenants, capacity);
  const keyed = tenants.filter(isEligible).map((t) => ({ t, key: shareKey(t, meanJobSeconds) }));
  const raised = new Map<string, number>();
  const first = argSmallestKey(keyed.map((x) => x.key));
  const floor = catchUpFloor(keyed, first, catchUpSeconds, meanJobSeconds);
  if (floor !== null) {
    const x = keyed[first];
    // The raise persists, as CFS sets a waking task's vruntime: a stateless clamp would
    // keep the newcomer first until its real usage caught up, starving the others.
    const usage = floor * x.t.weight - (x.t.runningUsage ?? 0) - x.t.running * meanJobSeconds;
    raised.set(x.t.name, usage);
    x.t = { ...x.t, usage };
    x.key = floor;
  }
  const tier = (t: TenantLoad) => (held && owedSlot(t, held.get(t.name)) ? 0 : 1);
  const order = keyed.sort((a, b) => tier(a.t) - tier(b.t) || before(a.t, a.key, b.t, b.key)).map((x) => x.t);
  return { order, raised };
}

export interface SlotPicks {
  /** The tenant of each pick, in order, as it stood when picked (running already counted). */
  picks: TenantLoad[];
  /** As DispatchPlan.raised, over all the picks (the last raise of a tenant wins). */
  raised: Map<string, number>;
  /** The first plan's front tenant, and whether it was alone eligible (null: nobody eligible). */
  first: { name: string; alone: boolean } | null;
}

/**
 * What `slots` calls of planDispatch would pick, one free slot after another, each pick
 * counted as running (and one less queued) in `tenants` before the next, raises recorded
 * there too. Only the picked (or raised) tenant's key changes between picks, so the eligible
 * tenants sit in a binary heap in planDispatch's order: each pick is O(log n), not a new sort
 * (a dispatch round plans a pick per device slot: 800 picks over 1,000 tenants took tens of ms
 * as one scan per pick). With the pool's `capacity`, as planDispatch: a pick does not change the
 * demands, so the shares hold for the whole round. The catch-up floor then comes from the first by key
 * of the root's children, which may rank after it for being owed no slot, not for their key: a newcomer
 * (owed slots) is then raised against a key above the smallest, which bounds its burst no less.
 */
export function pickSlots(
  tenants: TenantLoad[],
  slots: number,
  meanJobSeconds: number,
  catchUpSeconds = Infinity,
  capacity?: number,
): SlotPicks {
  checkCatchUp(catchUpSeconds);
  const held = capacity === undefined ? undefined : holdingShares(tenants, capacity);
  const heap = new TenantHeap(tenants.filter(isEligible), meanJobSeconds, held);
  const raised = new Map<string, number>();
  const picks: TenantLoad[] = [];
  let first: SlotPicks['first'] = null;
  for (let i = 0; i < slots && heap.size > 0; i++) {
    // The catch-up floor (see catchUpFloor): only a strictly smallest key, the root's, can be
    // raised, to the key of the first after it (a child of the root) minus the bound and its step.
    const s = heap.size > 1 && Number.isFinite(catchUpSeconds) ? heap.second() : null;
    const floor = s ? s.key - catchUpSeconds - meanJobSeconds / s.t.weight : -Infinity;
    const low = heap.rootTenant();
    if (heap.key(0) < floor) {
      low.usage = floor * low.weight - (low.runningUsage ?? 0) - low.running * meanJobSeconds;
      raised.set(low.name, low.usage);
      // Within this pick it sorts by the floor itself (planDispatch's x.key = floor).
      heap.setKey(0, floor);
    }
    if (i === 0) first = { name: heap.rootTenant().name, alone: heap.size === 1 };
    const t = heap.rootTenant();
    t.running++;
    if (t.poolRunning !== undefined) t.poolRunning++;
    t.queued--;
    picks.push({ ...t });
    if (isEligible(t)) heap.setKey(0, shareKey(t, meanJobSeconds));
    else heap.removeRoot();
    // A raised tenant not picked keys by its new usage from the next pick on.
    if (low !== t && isEligible(low)) heap.setKey(heap.indexOf(low), shareKey(low, meanJobSeconds));
  }
  return { picks, raised, first };
}

/** A tenant in the heap: its key, its water-filled share (absent: none, or no shares) and its place. */
interface HeapItem {
  t: TenantLoad;
  key: number;
  share: number | undefined;
  pos: number;
}

/** Eligible tenants in planDispatch's order (share tier, key, fewer running, name), keys kept beside. */
class TenantHeap {
  private readonly items: HeapItem[];
  private readonly byTenant = new Map<TenantLoad, HeapItem>();

  constructor(
    tenants: TenantLoad[],
    meanJobSeconds: number,
    private readonly shares?: Map<string, number>,
  ) {
    // Each item knows its share and its place: a comparison or a swap then looks nothing up
    // (they run for every pick, 800 picks over 1,000 tenants in a round of bench:scale).
    this.items = tenants.map((t, pos) => ({ t, key: shareKey(t, meanJobSeconds), share: shares?.get(t.name), pos }));
    for (const x of this.items) this.byTenant.set(x.t, x);
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  get size(): number {
    return this.items.length;
  }

  rootTenant(): TenantLoad {
    return this.items[0].t;
  }

  key(i: number): number {
    return this.items[i].key;
  }

  indexOf(t: TenantLoad): number {
    return this.byTenant.get(t)!.pos;
  }

  /**
   * The first after the root by (key, fewer running, name): the first of the root's children by
   * that order, share tiers aside (without shares, the second item in the heap's order).
   */
  second(): HeapItem | null {
    const a = this.items[1];
    const b = this.items[2];
    if (!a || !b) return a ?? null;
    return before(b.t, b.key, a.t, a.key) < 0 ? b : a;
  }

  /** Sets its key; its share tier may have changed with its running count too, so it sifts both ways. */
  setKey(i: number, key: number): void {
    const x = this.items[i];
    x.key = key;
    this.up(i);
    this.down(x.pos);
  }

  removeRoot(): void {
    const last = this.items.pop()!;
    this.byTenant.delete(this.items.length ? this.items[0].t : last.t);
    if (!this.items.length) return;
    this.items[0] = last;
    last.pos = 0;
    this.down(0);
  }

  // No closures here: called for every comparison of every pick, and a closure made per call
  // (named by the TypeScript loader's helper) was half a dispatch round's CPU at 1,000 tenants.
  private less(i: number, j: number): boolean {
    const a = this.items[i];
    const b = this.items[j];
    // The tenants owed a whole slot rank first (1 when owed).
    const tier = this.shares ? Number(owedSlot(b.t, b.share)) - Number(owedSlot(a.t, a.share)) : 0;
    return (tier || before(a.t, a.key, b.t, b.key)) < 0;
  }

  private swap(i: number, j: number): void {
    const x = this.items[i];
    const y = this.items[j];
    this.items[i] = y;
    this.items[j] = x;
    y.pos = i;
    x.pos = j;
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.items.length && this.less(l, m)) m = l;
      if (r < this.items.length && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
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
