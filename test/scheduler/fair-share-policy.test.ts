// The policy alone: pure functions, checked by simulating dispatch decisions.
import { describe, expect, it } from 'vitest';
import {
  accrued,
  decay,
  pickSlots,
  planDispatch,
  shareKey,
  shares,
  type TenantLoad,
} from '../../scheduler/policy/fair-share.ts';

function load(name: string, weight: number, extra: Partial<TenantLoad> = {}): TenantLoad {
  return { name, weight, usage: 0, running: 0, queued: 10, maxRunning: 100, ...extra };
}

/** Simulates `slots` slots running unit jobs for `steps` rounds; returns device time per tenant. */
function simulate(
  tenants: TenantLoad[],
  slots: number,
  steps: number,
  jobSeconds = 1,
  arrive: Record<string, number> = {},
) {
  const used = new Map(tenants.map((t) => [t.name, 0]));
  for (let step = 0; step < steps; step++) {
    const present = tenants.filter((t) => (arrive[t.name] ?? 0) <= step);
    for (const t of present) t.running = 0;
    for (let s = 0; s < slots; s++) dispatchOne(present, jobSeconds);
    for (const t of present) {
      t.usage += t.running * jobSeconds;
      used.set(t.name, used.get(t.name)! + t.running * jobSeconds);
    }
  }
  return used;
}

/** One dispatch decision, applying the plan's usage raises as the mechanics do. */
function dispatchOne(present: TenantLoad[], jobSeconds: number): TenantLoad | undefined {
  const plan = planDispatch(present, jobSeconds, 5);
  for (const [name, usage] of plan.raised) present.find((t) => t.name === name)!.usage = usage;
  const next = plan.order[0] && present.find((t) => t.name === plan.order[0].name)!;
  if (next) next.running++;
  return next;
}

const dispatchOrder = (t: TenantLoad[], mean: number) => planDispatch(t, mean).order;

describe('fair-share policy', () => {
  it('decays usage by half every half-life', () => {
    expect(decay(100, 60, 60)).toBeCloseTo(50);
    expect(decay(100, 180, 60)).toBeCloseTo(12.5);
    expect(decay(100, 0, 60)).toBe(100);
  });

  it('serves the tenant with the least usage per weight first', () => {
    const order = dispatchOrder(
      [load('a', 1, { usage: 10 }), load('b', 2, { usage: 10 }), load('c', 1, { usage: 30 })],
      1,
    );
    expect(order.map((t) => t.name)).toEqual(['b', 'a', 'c']);
  });

  it('counts running jobs, skips tenants without work or at their running limit', () => {
    const order = dispatchOrder(
      [
        load('a', 1, { running: 3 }),
        load('b', 1, { queued: 0 }),
        load('c', 1, { running: 2, maxRunning: 2 }),
        load('d', 1, { running: 1 }),
      ],
      1,
    );
    expect(order.map((t) => t.name)).toEqual(['d', 'a']);
  });

  it('accrues a running job as decayed usage charged every instant would', () => {
    const h = 3600;
    // A fine Riemann sum of one device charged every second of a 5 h run, decayed to its end.
    let sum = 0;
    for (let s = 0; s < 5 * h; s++) sum += decay(1, 5 * h - s - 0.5, h);
    expect(accrued(5 * h, h)).toBeCloseTo(sum, 0);
    // Running on is the same as decaying what it had and adding the new stretch.
    expect(accrued(7 * h, h)).toBeCloseTo(decay(accrued(5 * h, h), 2 * h, h) + accrued(2 * h, h), 6);
    // A device held for days weighs h/ln 2, not days: the memory is the half-life's.
    expect(accrued(3 * 86_400, h)).toBeCloseTo(h / Math.LN2, 3);
    expect(accrued(0, h)).toBe(0);
  });

  it('counts what running jobs accrued: a tenant holding devices for days is not served as idle', () => {
    const h = 3600;
    // `long` has run two devices for a day and charged nothing yet; `short` ran one for an hour.
    const long = load('long', 1, { running: 2, runningUsage: 2 * accrued(86_400, h) });
    const short = load('short', 1, { usage: accrued(h, h) });
    expect(dispatchOrder([long, short], 600).map((t) => t.name)).toEqual(['short', 'long']);
    expect(shareKey(long, 600)).toBeCloseTo((2 * accrued(86_400, h) + 2 * 600) / 1);
  });

  it('raises a newcomer to the floor counting what its running jobs accrued', () => {
    const mean = 10;
    const plan = planDispatch(
      [load('old', 1, { usage: 10_000 }), load('new', 1, { running: 1, runningUsage: 100 })],
      mean,
      60,
    );
    const raised = plan.raised.get('new')!;
    // Its key after the raise is the other's key minus the bound and one of the other's steps
    // (mean / its weight 1), running jobs included.
    expect(raised + 100 + 1 * mean).toBeCloseTo(10_000 - 60 - mean / 1);
  });

  it("bounds a newcomer's credit to the catch-up plus one step of the tenant above it", () => {
    // `a` and `b` (weight 1) sit at key 6,000; `n` (weight 2) arrives with nothing used.
    const [mean, catchUp, w] = [600, 60, 2];
    const tenants = () => [load('a', 1, { usage: 6000 }), load('b', 1, { usage: 6000 }), load('n', w, { queued: 100 })];
    const floor = 6000 - catchUp - mean / 1;
    // From the floor, each pick adds mean / w to its key: it runs until it reaches 6,000.
    const burst = Math.ceil((6000 - floor) / (mean / w));
    for (const pick of [
      (ts: TenantLoad[]) => pickSlots(ts, burst + 2, mean, catchUp),
      (ts: TenantLoad[]) => {
        const picks: TenantLoad[] = [];
        const raised = new Map<string, number>();
        for (let i = 0; i < burst + 2; i++) {
          const plan = planDispatch(ts, mean, catchUp);
          for (const [name, usage] of plan.raised) {
            raised.set(name, usage);
            ts.find((t) => t.name === name)!.usage = usage;
          }
          const next = ts.find((t) => t.name === plan.order[0].name)!;
          next.running++;
          picks.push({ ...next });
        }
        return { picks, raised };
      },
    ]) {
      const { picks, raised } = pick(tenants());
      expect(raised.get('n')).toBeCloseTo(floor * w);
      expect(picks.map((t) => t.name)).toEqual([...Array<string>(burst).fill('n'), 'a', 'b']);
    }
    // Without the bound it would take every slot until its 6,000 · 2 of usage (20 jobs).
    expect(pickSlots(tenants(), 20, mean).picks.every((t) => t.name === 'n')).toBe(true);
  });

  it('keeps the weights 1:3 under a catch-up bound smaller than one pick of the key (key alone)', () => {
    // 10-minute jobs, catch-up 60 s: a pick moves a key by 600 s or 200 s, far more than the
    // bound, as it does for a worker planning for itself (no pool capacity). Four slots, every
    // job ending at each round's end and charged to the usage, 100 rounds: 400 picks.
    const [mean, catchUp] = [600, 60];
    const rounds = (pick: (ts: TenantLoad[]) => TenantLoad[]) => {
      const ts = [load('a', 1, { queued: 1e6 }), load('b', 3, { queued: 1e6 })];
      const count = new Map([
        ['a', 0],
        ['b', 0],
      ]);
      for (let r = 0; r < 100; r++) {
        for (const t of pick(ts)) count.set(t.name, count.get(t.name)! + 1);
        for (const t of ts) {
          t.usage += t.running * mean;
          t.running = 0;
        }
      }
      return count.get('a')! / (count.get('a')! + count.get('b')!);
    };
    // The worker's round of picks…
    expect(Math.abs(rounds((ts) => pickSlots(ts, 4, mean, catchUp).picks) - 0.25)).toBeLessThanOrEqual(0.02);
    // …and one plan per slot, its raises recorded.
    const perPlan = rounds((ts) =>
      Array.from({ length: 4 }, () => {
        const plan = planDispatch(ts, mean, catchUp);
        for (const [name, usage] of plan.raised) ts.find((t) => t.name === name)!.usage = usage;
        const next = ts.find((t) => t.name === plan.order[0].name)!;
        next.running++;
        next.queued--;
        return next;
      }),
    );
    expect(Math.abs(perPlan - 0.25)).toBeLessThanOrEqual(0.02);
  });

  it('converges to the weights 1:1:2 with two slots', () => {
    const used = simulate([load('a', 1), load('b', 1), load('c', 2)], 2, 400);
    const total = [...used.values()].reduce((s, v) => s + v, 0);
    expect(used.get('a')! / total).toBeCloseTo(0.25, 1);
    expect(used.get('b')! / total).toBeCloseTo(0.25, 1);
    expect(used.get('c')! / total).toBeCloseTo(0.5, 1);
  });

  it('gives a late tenant its share promptly without starving the others', () => {
    const tenants = [load('a', 1), load('b', 1), load('late', 2)];
    const used = simulate(tenants, 4, 200, 1, { late: 100 });
    // Over its 100 rounds, the late tenant got at least its 50% share…
    expect(used.get('late')! / 400).toBeGreaterThanOrEqual(0.5);
    // …but the bounded catch-up left the others working: no 10-round window without service.
    const t2 = [load('a', 1), load('b', 1), load('late', 2)];
    let starvedFor = 0;
    let worst = 0;
    for (let step = 0; step < 200; step++) {
      const present = t2.filter((t) => t.name !== 'late' || step >= 100);
      for (const t of present) t.running = 0;
      for (let s = 0; s < 4; s++) dispatchOne(present, 1);
      for (const t of present) t.usage += t.running;
      starvedFor = t2[0].running === 0 ? starvedFor + 1 : 0;
      worst = Math.max(worst, starvedFor);
    }
    expect(worst).toBeLessThanOrEqual(10);
  });

  it("with the pool's capacity, serves a tenant owed a whole slot before lower keys, then by key", () => {
    // 10 slots, weights 3 and 1: shares 7.5 and 2.5. `big` holds 6 (owed one), `small` 2 (owed none:
    // a third would put it half a slot over); `big`'s usage makes its key the higher.
    const big = () => load('big', 3, { running: 6, usage: 300 });
    const small = () => load('small', 1, { running: 2 });
    expect(planDispatch([big(), small()], 10).order.map((t) => t.name)).toEqual(['small', 'big']);
    expect(planDispatch([big(), small()], 10, Infinity, 10).order.map((t) => t.name)).toEqual(['big', 'small']);
    // Owed no whole slot (7 of 7.5): back to the key.
    const atShare = load('big', 3, { running: 7, usage: 300 });
    expect(planDispatch([atShare, small()], 10, Infinity, 10).order.map((t) => t.name)).toEqual(['small', 'big']);
    // A round of picks serves `big` until it is owed no more, then goes by key.
    const picks = pickSlots([big(), small()], 3, 10, Infinity, 10).picks.map((t) => t.name);
    expect(picks).toEqual(['big', 'small', 'small']);
  });

  it('counts what a tenant holds in the pool, not elsewhere, for the owed-first tier', () => {
    // 4 slots in this pool, equal weights: shares 2 and 2. `multi` runs 6 jobs in another pool
    // and none here (owed two); `local` holds 2 here (owed none) and has the lower key.
    const multi = () => load('multi', 1, { running: 6, poolRunning: 0, usage: 100 });
    const local = () => load('local', 1, { running: 2, poolRunning: 2 });
    expect(planDispatch([multi(), local()], 10, Infinity, 4).order.map((t) => t.name)).toEqual(['multi', 'local']);
    // Counted over all its jobs (no pool figure), `multi` looks over its share here.
    const { poolRunning: _, ...everywhere } = multi();
    expect(planDispatch([everywhere, local()], 10, Infinity, 4).order.map((t) => t.name)).toEqual(['local', 'multi']);
    // A round's picks count in the pool too: two for `multi`, then by key.
    const plan = pickSlots([multi(), local()], 3, 10, Infinity, 4);
    expect(plan.picks.map((t) => t.name)).toEqual(['multi', 'multi', 'local']);
    expect(plan.picks[1]).toMatchObject({ running: 8, poolRunning: 2 });
  });

  it('reports target and actual shares', () => {
    const s = shares([
      load('a', 1, { usage: 30 }),
      load('b', 3, { usage: 10 }),
      load('idle', 5, { queued: 0, usage: 0 }),
    ]);
    expect(s.get('a')).toEqual({ weightShare: 0.25, usageShare: 0.75 });
    expect(s.get('b')).toEqual({ weightShare: 0.75, usageShare: 0.25 });
    expect(s.get('idle')!.weightShare).toBe(0);
  });
});
