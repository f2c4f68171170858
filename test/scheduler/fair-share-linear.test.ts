// planDispatch's O(n) catch-up floor and pickSlots' incremental picks against plain quadratic
// references (a floor per tenant, a plan per slot), on random tenant states: the same orders,
// raises and picks.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../kernels/random.ts';
import {
  isEligible,
  pickSlots,
  planDispatch,
  shareKey,
  type DispatchPlan,
  type TenantLoad,
} from '../../scheduler/policy/fair-share.ts';

/** The order of the plan: key, then fewer running, then name. */
const byOrder = (a: { t: TenantLoad; key: number }, b: { t: TenantLoad; key: number }) =>
  a.key - b.key || a.t.running - b.t.running || a.t.name.localeCompare(b.t.name);

/**
 * planDispatch as a plain quadratic reference: per tenant, the floor from the first of the others in
 * the plan's order (its key − the bound − its step, mean / its weight), no O(n) shortcut.
 */
function quadraticPlan(tenants: TenantLoad[], meanJobSeconds: number, catchUpSeconds = Infinity): DispatchPlan {
  const keyed = tenants.filter(isEligible).map((t) => ({ t, key: shareKey(t, meanJobSeconds) }));
  const raised = new Map<string, number>();
  if (keyed.length > 1 && Number.isFinite(catchUpSeconds)) {
    for (const x of keyed) {
      const s = keyed.filter((o) => o !== x).sort(byOrder)[0];
      const floor = s.key - catchUpSeconds - meanJobSeconds / s.t.weight;
      if (x.key < floor) {
        const usage = floor * x.t.weight - x.t.running * meanJobSeconds;
        raised.set(x.t.name, usage);
        x.t = { ...x.t, usage };
        x.key = floor;
      }
    }
  }
  const order = keyed.sort(byOrder).map((x) => x.t);
  return { order, raised };
}

/** FairPuller's loop before pickSlots: one plan per free slot. */
function loopPicks(loads: TenantLoad[], slots: number, mean: number, catchUp: number) {
  const raised = new Map<string, number>();
  const picks: TenantLoad[] = [];
  let first: { name: string; alone: boolean } | null = null;
  for (let i = 0; i < slots; i++) {
    const plan = quadraticPlan(loads, mean, catchUp);
    if (i === 0) first = plan.order[0] ? { name: plan.order[0].name, alone: plan.order.length === 1 } : null;
    for (const [name, u] of plan.raised) {
      raised.set(name, u);
      loads.find((l) => l.name === name)!.usage = u;
    }
    if (plan.order.length === 0) break;
    const next = loads.find((l) => l.name === plan.order[0].name)!;
    next.running++;
    next.queued--;
    picks.push({ ...next });
  }
  return { picks, raised, first };
}

function randomTenants(rand: () => number): TenantLoad[] {
  const n = 1 + Math.floor(rand() * 30);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  return Array.from({ length: n }, (_, i) => ({
    name: `t${pick([i, i, n - i])}-${i}`,
    weight: pick([1, 1, 3, 10, 0.5]),
    // Many zeros and equal values: newcomers to raise, and ties to break.
    usage: pick([0, 0, 10, 100, 1000, rand() * 5000]),
    running: Math.floor(rand() * 4),
    queued: pick([0, 1, 2, 50]),
    maxRunning: pick([2, 5, 100]),
  }));
}

const clone = (ts: TenantLoad[]) => ts.map((t) => ({ ...t }));
const CATCH_UPS = [0, 1, 5, 60, Infinity];

describe('fair-share policy: linear plan and incremental picks', () => {
  it('planDispatch orders and raises as the quadratic version did (random states)', () => {
    const rand = seededRandom(14);
    let raisedSome = 0;
    for (let n = 0; n < 3000; n++) {
      const tenants = randomTenants(rand);
      const mean = [1e-3, 1, 30][n % 3];
      const catchUp = CATCH_UPS[n % CATCH_UPS.length];
      const want = quadraticPlan(clone(tenants), mean, catchUp);
      const got = planDispatch(clone(tenants), mean, catchUp);
      expect(got.order).toEqual(want.order);
      expect(got.raised).toEqual(want.raised);
      if (want.raised.size) raisedSome++;
    }
    expect(raisedSome).toBeGreaterThan(100); // the floor was exercised, not only the sort
  });

  it('pickSlots picks what one planDispatch per slot picked (random states)', () => {
    const rand = seededRandom(15);
    let raisedSome = 0;
    for (let n = 0; n < 1500; n++) {
      const tenants = randomTenants(rand);
      const mean = [1e-3, 1, 30][n % 3];
      const catchUp = CATCH_UPS[n % CATCH_UPS.length];
      const slots = Math.floor(rand() * 60);
      const a = clone(tenants);
      const b = clone(tenants);
      const want = loopPicks(a, slots, mean, catchUp);
      const got = pickSlots(b, slots, mean, catchUp);
      expect(got.picks).toEqual(want.picks);
      expect(got.raised).toEqual(want.raised);
      expect(got.first).toEqual(want.first);
      expect(b).toEqual(a); // the loads are left as the loop left them
      if (want.raised.size) raisedSome++;
    }
    expect(raisedSome).toBeGreaterThan(100);
  });

  it("with the pool's capacity, pickSlots picks what one planDispatch per slot picked (random states)", () => {
    // Without a catch-up bound: with one, pickSlots takes the floor from the heap root's children,
    // which rank by share tier first (see pickSlots).
    const rand = seededRandom(16);
    let reordered = 0;
    for (let n = 0; n < 1500; n++) {
      const tenants = randomTenants(rand);
      const mean = [1e-3, 1, 30][n % 3];
      const capacity = tenants.reduce((s, t) => s + t.running, 0) + Math.floor(rand() * 20);
      const slots = Math.floor(rand() * 20);
      const a = clone(tenants);
      const want: TenantLoad[] = [];
      for (let i = 0; i < slots; i++) {
        const next = planDispatch(a, mean, Infinity, capacity).order[0];
        if (!next) break;
        const t = a.find((x) => x.name === next.name)!;
        t.running++;
        t.queued--;
        want.push({ ...t });
      }
      const got = pickSlots(clone(tenants), slots, mean, Infinity, capacity).picks;
      expect(got).toEqual(want);
      const byKey = pickSlots(clone(tenants), slots, mean).picks;
      if (JSON.stringify(byKey) !== JSON.stringify(got)) reordered++;
    }
    expect(reordered).toBeGreaterThan(100); // the capacity changed the picks, not only kept them
  });

  it('refuses a negative catch-up bound, which the linear floor does not cover', () => {
    expect(() => planDispatch([], 1, -1)).toThrow(/catch-up bound must be ≥ 0/);
  });
});
