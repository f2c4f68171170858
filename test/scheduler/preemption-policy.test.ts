// The preemption policy alone: pure functions, its rules one by one, then simulated (a
// starved newcomer, two saturating tenants, random states) to show it never thrashes.
import { describe, expect, it } from 'vitest';
import {
  fairShares,
  planPreemptions,
  type PreemptionInput,
  type RunningSlot,
  type TenantRules,
} from '../../scheduler/policy/preemption.ts';
import { planDispatch, type TenantLoad } from '../../scheduler/policy/fair-share.ts';
import { seededRandom } from '../../kernels/random.ts';

const S = 1000; // ms per second
const NOW = 1_000_000 * S;

function tenant(name: string, extra: Partial<TenantRules> = {}): TenantRules {
  return {
    name,
    weight: 1,
    maxRunning: 1000,
    preemptible: true,
    withinTenant: false,
    guaranteedShare: 0,
    ...extra,
  };
}

let seq = 0;
function job(tenantName: string, worker: string, extra: Partial<RunningSlot> = {}): RunningSlot {
  return {
    job: `${tenantName}-${seq++}`,
    tenant: tenantName,
    worker,
    priority: 0,
    preemptible: true,
    startedAt: NOW - 600 * S,
    checkpointAt: null,
    ...extra,
  };
}

/** Two workers of two slots, `big` on all four, `small` with `queued` jobs waiting. */
/**
 * A random centre for the property tests: 2 or more of `names` with weights drawn from `weights`,
 * three workers of 1..`slots` slots, every slot running a long-running job of a random tenant, and
 * each tenant with 0..`queued` − 1 queued jobs that most workers can run; no minimum run time.
 */
function randomCentre(rand: () => number, o: { names: string[]; weights: number[]; slots: number; queued: number }) {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const names = o.names.slice(0, 2 + Math.floor(rand() * (o.names.length - 1)));
  const tenants = new Map(names.map((n) => [n, tenant(n, { weight: pick(o.weights) })]));
  const workers = [0, 1, 2].map((i) => ({ id: `w${i}`, concurrency: 1 + Math.floor(rand() * o.slots), running: 0 }));
  const running: RunningSlot[] = [];
  for (const w of workers)
    for (let s = 0; s < w.concurrency; s++) running.push(job(pick(names), w.id, { startedAt: NOW - 1e6 * S }));
  const demands = names.map((n) => ({
    tenant: n,
    queued: Math.floor(rand() * o.queued),
    topPriority: 0,
    workers: workers.filter(() => rand() < 0.8).map((w) => w.id),
  }));
  const input: PreemptionInput = {
    now: NOW,
    settings: { enabled: true, minRuntimeSeconds: 0 },
    tenants,
    workers,
    running,
    demands,
    inFlight: [],
  };
  return { names, input };
}

function starved(extra: Partial<PreemptionInput> = {}, queued = 4): PreemptionInput {
  return {
    now: NOW,
    settings: { enabled: true, minRuntimeSeconds: 120 },
    tenants: new Map([
      ['big', tenant('big')],
      ['small', tenant('small')],
    ]),
    workers: [
      { id: 'w1', concurrency: 2, running: 2 },
      { id: 'w2', concurrency: 2, running: 2 },
    ],
    running: [job('big', 'w1'), job('big', 'w1'), job('big', 'w2'), job('big', 'w2')],
    demands: [
      { tenant: 'small', queued, topPriority: 0, workers: ['w1', 'w2'] },
      { tenant: 'big', queued: 10, topPriority: 0, workers: ['w1', 'w2'] },
    ],
    inFlight: [],
    ...extra,
  };
}

describe('preemption policy', () => {
  it('water-fills slots by weight, capping tenants at their demand', () => {
    const f = fairShares(10, [
      { name: 'a', weight: 1, demand: 100 },
      { name: 'b', weight: 3, demand: 100 },
    ]);
    expect(f.get('a')).toBeCloseTo(2.5);
    expect(f.get('b')).toBeCloseTo(7.5);
    const g = fairShares(10, [
      { name: 'a', weight: 1, demand: 1 },
      { name: 'b', weight: 1, demand: 100 },
      { name: 'c', weight: 2, demand: 100 },
    ]);
    expect([g.get('a'), g.get('b'), g.get('c')]).toEqual([1, 3, 6]);
    expect(fairShares(4, [{ name: 'a', weight: 1, demand: 0 }]).get('a')).toBe(0);
  });

  it('gives a starved tenant its share and stops there (2 of 4 slots at equal weights)', () => {
    const d = planPreemptions(starved());
    expect(d).toHaveLength(2);
    expect(d.every((x) => x.forTenant === 'small' && x.victim.tenant === 'big' && x.reason === 'fair-share')).toBe(
      true,
    );
    expect(d[0].share).toBe(0);
    expect(d[0].target).toBeCloseTo(0.5);
  });

  it('takes no more than the demand: one queued job, one preemption', () => {
    expect(planPreemptions(starved({}, 1))).toHaveLength(1);
  });

  it('follows the weights: weight 3 against 1 ends at 3 of 4 slots', () => {
    const input = starved();
    input.tenants.set('small', tenant('small', { weight: 3 }));
    expect(planPreemptions(input)).toHaveLength(3);
  });

  it('never preempts while a matching slot is free, or for a tenant at its maxRunning', () => {
    const free = starved();
    free.workers[1] = { id: 'w2', concurrency: 3, running: 2 };
    expect(planPreemptions(free)).toEqual([]);
    const capped = starved();
    capped.tenants.set('small', tenant('small', { maxRunning: 0 }));
    expect(planPreemptions(capped)).toEqual([]);
  });

  it('only preempts on workers that can run the queued work', () => {
    const d = planPreemptions(starved({ demands: [{ tenant: 'small', queued: 4, topPriority: 0, workers: ['w2'] }] }));
    // In w2's pool of 2 slots: small's share is 1.
    expect(d).toHaveLength(1);
    expect(d[0].victim.worker).toBe('w2');
  });

  it('respects the minimum run time, the installation default and a tenant override', () => {
    const young = starved({
      running: [0, 1, 2, 3].map((i) => job('big', i < 2 ? 'w1' : 'w2', { startedAt: NOW - 60 * S })),
    });
    expect(planPreemptions(young)).toEqual([]);
    young.settings = { enabled: true, minRuntimeSeconds: 30 };
    expect(planPreemptions(young)).toHaveLength(2);
    young.tenants.set('big', tenant('big', { minRuntimeSeconds: 90 }));
    expect(planPreemptions(young)).toEqual([]);
  });

  it('respects opt-outs: the job, the tenant, the installation', () => {
    const jobs = starved();
    jobs.running = jobs.running.map((j, i) => ({ ...j, preemptible: i === 3 }));
    const d = planPreemptions(jobs);
    expect(d.map((x) => x.victim.job)).toEqual([jobs.running[3].job]);
    const t = starved();
    t.tenants.set('big', tenant('big', { preemptible: false }));
    expect(planPreemptions(t)).toEqual([]);
    expect(planPreemptions(starved({ settings: { enabled: false, minRuntimeSeconds: 0 } }))).toEqual([]);
  });

  it('never takes a tenant below its guaranteed share', () => {
    const input = starved();
    input.tenants.set('big', tenant('big', { guaranteedShare: 0.75 }));
    expect(planPreemptions(input)).toHaveLength(1); // big keeps 3 of 4
  });

  it('chooses victims by priority, then least work to lose, then youngest', () => {
    const input = starved({}, 1);
    const [a, b, c, d] = input.running;
    a.priority = 5;
    b.checkpointAt = NOW - 10 * S; // 10 s at risk
    c.checkpointAt = NOW - 5 * S; // 5 s at risk: the victim
    d.startedAt = NOW - 300 * S; // 300 s at risk
    expect(planPreemptions(input)[0].victim.job).toBe(c.job);
    c.priority = 1;
    expect(planPreemptions(input)[0].victim.job).toBe(b.job);
    // Equal work at risk: the youngest goes.
    const e = starved({}, 1);
    e.running[2].startedAt = NOW - 200 * S;
    e.running[2].checkpointAt = NOW - 7 * S;
    e.running[3].startedAt = NOW - 150 * S;
    e.running[3].checkpointAt = NOW - 7 * S;
    expect(planPreemptions(e)[0].victim.job).toBe(e.running[3].job);
  });

  it('counts requests in progress: their victims are not chosen again, their slots are the preemptor’s', () => {
    const input = starved();
    const first = planPreemptions(input);
    const again = planPreemptions({
      ...input,
      inFlight: first.map((d) => ({ job: d.victim.job, forTenant: 'small' })),
    });
    expect(again).toEqual([]);
  });

  it('within a tenant, only when the tenant enables it', () => {
    const input: PreemptionInput = {
      ...starved(),
      demands: [{ tenant: 'big', queued: 1, topPriority: 900, workers: ['w1', 'w2'] }],
    };
    expect(planPreemptions(input)).toEqual([]);
    input.tenants.set('big', tenant('big', { withinTenant: true }));
    const d = planPreemptions(input);
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ reason: 'priority', forTenant: 'big' });
    // Not a job of equal or higher priority.
    input.running = input.running.map((j) => ({ ...j, priority: 900 }));
    expect(planPreemptions(input)).toEqual([]);
  });

  /** One worker of `slots`; each tenant holds `held` jobs that have run `ranSeconds`, and has work queued. */
  function holding(
    slots: number,
    spec: { name: string; weight: number; held: number }[],
    ranSeconds = 3600,
    roundingMinRuntimeSeconds?: number,
  ): PreemptionInput {
    return {
      now: NOW,
      settings: { enabled: true, minRuntimeSeconds: 120, roundingMinRuntimeSeconds },
      tenants: new Map(spec.map((t) => [t.name, tenant(t.name, { weight: t.weight })])),
      workers: [{ id: 'w', concurrency: slots, running: slots }],
      running: spec.flatMap((t) =>
        Array.from({ length: t.held }, () => job(t.name, 'w', { startedAt: NOW - ranSeconds * S })),
      ),
      demands: spec.map((t) => ({ tenant: t.name, queued: 10, topPriority: 0, workers: ['w'] })),
      inFlight: [],
    };
  }

  it('rounds a share to the nearest slot: 5 of 4.2 gives one to 3 of 3.8, once (rules 2–4 by half a slot)', () => {
    // 8 slots, weights 38 and 42: shares 3.8 and 4.2. Whole slots on each side (the rules before)
    // allowed nothing here: 3 + 1 > 3.8 and 5 − 1 < 4.2. It leaves 4.2 at 19 % over for as long
    // as its jobs run.
    const input = holding(8, [
      { name: 'a', weight: 38, held: 3 },
      { name: 'b', weight: 42, held: 5 },
    ]);
    const d = planPreemptions(input);
    expect(d.map((x) => [x.forTenant, x.victim.tenant])).toEqual([['a', 'b']]);
    expect(d[0].target * 8).toBeCloseTo(3.8);
    // Applied (4 and 4): nothing moves again, in either direction.
    const after = holding(8, [
      { name: 'a', weight: 38, held: 4 },
      { name: 'b', weight: 42, held: 4 },
    ]);
    expect(planPreemptions(after)).toEqual([]);
  });

  it('leaves a rounding swap to dispatch for the first 30 minutes of a job (rule 7), not a whole-slot one', () => {
    const young = (ran: number, rounding?: number) =>
      holding(
        8,
        [
          { name: 'a', weight: 38, held: 3 },
          { name: 'b', weight: 42, held: 5 },
        ],
        ran,
        rounding,
      );
    expect(planPreemptions(young(1799))).toEqual([]);
    expect(planPreemptions(young(1800))).toHaveLength(1);
    expect(planPreemptions(young(600, 300))).toHaveLength(1);
    // A whole slot on each side (2 of a share of 4 against 6) needs only the minimum run time.
    const whole = holding(
      8,
      [
        { name: 'a', weight: 1, held: 2 },
        { name: 'b', weight: 1, held: 6 },
      ],
      600,
    );
    expect(planPreemptions(whole)).toHaveLength(2);
  });

  it('2 tenants of equal weight on 3 slots: one swap from 0 and 3, then 1 and 2 forever, whoever holds 2', () => {
    let held = { a: 0, b: 3 };
    const swaps: string[] = [];
    for (let t = 0; t < 50; t++) {
      const input = holding(3, [
        { name: 'a', weight: 1, held: held.a },
        { name: 'b', weight: 1, held: held.b },
      ]);
      for (const d of planPreemptions(input)) {
        swaps.push(`${t}:${d.victim.tenant}→${d.forTenant}`);
        held = d.forTenant === 'a' ? { a: held.a + 1, b: held.b - 1 } : { a: held.a - 1, b: held.b + 1 };
      }
      // Dispatch-like churn: every 10 ticks the holdings are flipped (b ends a job, a takes the slot).
      if (t % 10 === 9 && held.b === 2) held = { a: 2, b: 1 };
      else if (t % 10 === 9 && held.a === 2) held = { a: 1, b: 2 };
    }
    expect(swaps).toEqual(['0:b→a']);
  });

  it('every fair-share decision lowers Φ = Σ R² / w (random states): no sequence of them can cycle', () => {
    const rand = seededRandom(11);
    let rounding = 0;
    let decisions = 0;
    for (let trial = 0; trial < 300; trial++) {
      const { names, input } = randomCentre(rand, {
        names: ['a', 'b', 'c', 'd', 'e'],
        weights: [1, 1.3, 2, 3.7, 0.5, 10],
        slots: 8,
        queued: 8,
      });
      const { tenants, running } = input;
      const R = new Map(names.map((n) => [n, running.filter((j) => j.tenant === n).length]));
      const phi = () => names.reduce((sum, n) => sum + R.get(n)! ** 2 / tenants.get(n)!.weight, 0);
      for (const d of planPreemptions(input)) {
        const before = phi();
        const [a, b] = [d.forTenant, d.victim.tenant];
        if (R.get(a)! + 1 > (R.get(b)! - 1) * (tenants.get(a)!.weight / tenants.get(b)!.weight) + 1e-9) rounding++;
        R.set(a, R.get(a)! + 1);
        R.set(b, R.get(b)! - 1);
        expect(phi()).toBeLessThan(before - 1e-9);
        decisions++;
      }
    }
    expect(decisions).toBeGreaterThan(50);
    // Some were swaps that the whole-slot stability rule ((R_A + 1)/w_A ≤ (R_B − 1)/w_B) forbade.
    expect(rounding).toBeGreaterThan(5);
  });

  it('never reverses itself: after applying a round, no decision takes a slot back (random states)', () => {
    const rand = seededRandom(7);
    let checked = 0;
    for (let trial = 0; trial < 300; trial++) {
      const { input } = randomCentre(rand, {
        names: ['a', 'b', 'c', 'd'],
        weights: [1, 1, 2, 3, 0.5],
        slots: 4,
        queued: 6,
      });
      const { running, demands } = input;
      const first = planPreemptions(input);
      // Apply: each victim's slot now runs a job of its preemptor, started now; the victim is queued again.
      const after = running
        .filter((j) => !first.some((d) => d.victim.job === j.job))
        .concat(first.map((d) => job(d.forTenant, d.victim.worker, { startedAt: NOW - 1e6 * S })));
      const requeued = demands.map((d) => ({
        ...d,
        queued:
          d.queued -
          first.filter((x) => x.forTenant === d.tenant).length +
          1 +
          first.filter((x) => x.victim.tenant === d.tenant).length,
      }));
      const second = planPreemptions({ ...input, running: after, demands: requeued });
      for (const d of first) {
        checked++;
        expect(second.some((x) => x.forTenant === d.victim.tenant && x.victim.tenant === d.forTenant)).toBe(false);
      }
    }
    expect(checked).toBeGreaterThan(50); // the states did exercise preemption
  });

  it('simulated: a newcomer gets its share within one round, and two saturating tenants then never preempt', () => {
    // 4 slots, jobs of 1,000 s; big fills them at t=0, small arrives at t=30 s; 1 s ticks for 30 minutes.
    const slots = [
      { id: 'w1', concurrency: 2, running: 0 },
      { id: 'w2', concurrency: 2, running: 0 },
    ];
    const tenants = new Map([
      ['big', tenant('big')],
      ['small', tenant('small')],
    ]);
    const queued = new Map([
      ['big', 100],
      ['small', 0],
    ]);
    let running: RunningSlot[] = [];
    const perJob = new Map<string, number>();
    const preemptionsAt: number[] = [];
    let smallFirstStart: number | null = null;
    for (let t = 0; t < 1800; t++) {
      const now = t * S;
      if (t === 30) queued.set('small', 100);
      running = running.filter((j) => now - j.startedAt < 1000 * S);
      const input: PreemptionInput = {
        now,
        settings: { enabled: true, minRuntimeSeconds: 10 },
        tenants,
        workers: slots,
        running,
        demands: [...queued].map(([name, n]) => ({ tenant: name, queued: n, topPriority: 0, workers: ['w1', 'w2'] })),
        inFlight: [],
      };
      for (const d of planPreemptions(input)) {
        preemptionsAt.push(t);
        perJob.set(d.victim.job, (perJob.get(d.victim.job) ?? 0) + 1);
        running = running.filter((j) => j !== d.victim);
        queued.set(d.victim.tenant, queued.get(d.victim.tenant)! + 1);
        running.push(job(d.forTenant, d.victim.worker, { startedAt: now }));
        queued.set(d.forTenant, queued.get(d.forTenant)! - 1);
      }
      // Ordinary dispatch of free slots by the fair-share plan.
      for (const w of slots) {
        while (running.filter((j) => j.worker === w.id).length < w.concurrency) {
          const loads: TenantLoad[] = [...queued].map(([name, n]) => ({
            name,
            weight: 1,
            usage: 0,
            running: running.filter((j) => j.tenant === name).length,
            queued: n,
            maxRunning: 1000,
          }));
          const next = planDispatch(loads, 1000).order[0];
          if (!next) break;
          running.push(job(next.name, w.id, { startedAt: now }));
          queued.set(next.name, queued.get(next.name)! - 1);
        }
      }
      if (smallFirstStart === null && running.some((j) => j.tenant === 'small')) smallFirstStart = t;
    }
    expect(smallFirstStart).toBe(30); // big's jobs had run 30 s ≥ the 10 s minimum
    expect(preemptionsAt).toEqual([30, 30]); // two, at once, then never again
    expect(Math.max(...perJob.values())).toBe(1);
  });
});
