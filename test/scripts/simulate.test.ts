// The policy simulator's core on cases whose answer is known: weights 1 and 3 share the
// devices 25/75, and a tenant arriving late into a busy centre starts at once, then gets
// its weight's share instead of waiting for the other's backlog.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../kernels/random.ts';
import { pickSlots, type TenantLoad } from '../../scheduler/policy/fair-share.ts';
import { simulate, type SimConfig } from '../../scripts/simulate/core.ts';
import { policyHook } from '../../scripts/simulate/preemption.ts';

const base = (over: Partial<SimConfig>): SimConfig => ({
  devices: 100,
  tenants: [],
  seconds: 12 * 3600,
  tickSeconds: 60,
  halfLifeSeconds: 3600,
  catchUpSeconds: 60,
  windowSeconds: 6 * 3600,
  windowStepSeconds: 3600,
  random: seededRandom(7),
  duration: () => 600,
  ...over,
});

// Each tenant alone would keep all 100 devices busy (10 jobs of 10 min a minute = 100 devices).
const flood = 1 / 6;

describe('policy simulator', () => {
  it.each([
    // The scheduler's dispatch round: the tenants owed a whole device first, catch-up bound 60 s.
    ['by share first, catch-up 60 s', { dispatchShares: true }],
    // The key alone, as a worker planning for itself, catch-up bound 60 s: under one pick's step
    // of the key (600 s / weight). A floor without room for that step raised whichever tenant
    // was behind at every pick, and the two alternated whatever their weights (a got 48 %).
    ['by key alone, catch-up 60 s', { dispatchShares: false }],
  ] as const)('two backlogged tenants of weights 1 and 3 converge to 25/75 (%s)', (_, over) => {
    const r = simulate(
      base({
        tenants: [
          { name: 'a', weight: 1, jobsPerSecond: flood },
          { name: 'b', weight: 3, jobsPerSecond: flood },
        ],
        ...over,
      }),
    );
    const a = r.deviceSeconds.get('a')!;
    const b = r.deviceSeconds.get('b')!;
    expect(a / (a + b)).toBeGreaterThan(0.23);
    expect(a / (a + b)).toBeLessThan(0.27);
    expect(r.utilization).toBeGreaterThan(0.95);
    // Both had work in every window: each window measured them, and close to their weights.
    expect(r.shareError.samples).toBeGreaterThan(0);
    expect(r.shareError.worst).toBeLessThan(0.1);
  });

  it('a tenant arriving late into a busy centre starts at once and gets its share', () => {
    const lateAt = 6 * 3600;
    const r = simulate(
      base({
        tenants: [
          { name: 'early', weight: 1, jobsPerSecond: flood },
          { name: 'late', weight: 1, jobsPerSecond: flood, fromSeconds: lateAt },
        ],
      }),
    );
    // Its longest wait with queued work: one 10-minute job's end and a tick, not the early
    // tenant's backlog of hours.
    expect(r.tenantLongestWait.get('late')).toBeLessThanOrEqual(600 + 60);
    const late = r.deviceSeconds.get('late')!;
    // Six hours of 100 devices after it arrives: about half, once the running jobs turned over.
    expect(late / (100 * 6 * 3600)).toBeGreaterThan(0.4);
    expect(late / (100 * 6 * 3600)).toBeLessThan(0.6);
    expect(r.longestWait.worstRatio).toBeLessThanOrEqual(1);
  });

  it('charging usage as jobs run keeps a tenant of long jobs at its share; charging at the end does not', () => {
    // Equal weights, both backlogged: `long` runs 6 h jobs, `short` 10-minute ones. No catch-up
    // bound: with two tenants it keeps `short` within 60 s of `long`'s key, whatever `long` holds.
    const run = (accounting: 'end' | 'running') => {
      const r = simulate(
        base({
          seconds: 24 * 3600,
          catchUpSeconds: Infinity,
          tenants: [
            { name: 'long', weight: 1, jobsPerSecond: flood / 10 },
            { name: 'short', weight: 1, jobsPerSecond: flood },
          ],
          duration: (_random, tenant) => (tenant === 0 ? 6 * 3600 : 600),
          accounting,
        }),
      );
      const long = r.deviceSeconds.get('long')!;
      return long / (long + r.deviceSeconds.get('short')!);
    };
    // At the end, a running 6 h job costs one mean job until it ends: `long` piles up devices.
    expect(run('end')).toBeGreaterThan(0.6);
    expect(run('running')).toBeGreaterThan(0.45);
    expect(run('running')).toBeLessThan(0.55);
  });

  it('measures the wait under a share against fair turn + longest job, or + the preemption delay', () => {
    // `early` fills the centre with day-long jobs; `late` arrives at 6 h with 10-minute jobs.
    const cfg = (preempt: boolean) =>
      base({
        devices: 20,
        seconds: 12 * 3600,
        tenants: [
          { name: 'early', weight: 1, jobsPerSecond: 0.01, untilSeconds: 3600 },
          { name: 'late', weight: 1, jobsPerSecond: 0.01, fromSeconds: 6 * 3600 },
        ],
        duration: (_random, tenant) => (tenant === 0 ? 86_400 : 600),
        preempt: preempt ? policyHook({ devices: 20, minRuntimeSeconds: 120, names: ['early', 'late'] }) : undefined,
        preemptionDelaySeconds: preempt ? 180 : undefined,
      });
    // Without preemption it waits out the run (6 h), within fair turn + the longest job (a day).
    const without = simulate(cfg(false)).longestWaitUnderShare;
    expect(without.tenant).toBe('late');
    expect(without.seconds).toBeGreaterThanOrEqual(6 * 3600 - 60);
    expect(without.worstRatio).toBeLessThanOrEqual(1);
    // It held nothing while its share (water-filled, capped at what it had queued) was ≥ 1.
    expect(without.context.held).toBe(0);
    expect(without.context.fairShare).toBeGreaterThanOrEqual(1);
    // With it, its waits under its share are minutes, not hours (victims preempted before are
    // protected twice as long each time, so some still exceed min run time + a tick).
    const withIt = simulate(cfg(true)).longestWaitUnderShare;
    expect(withIt.seconds).toBeLessThanOrEqual(600);
    expect(withIt.waits).toBeGreaterThan(0);
    expect(withIt.overBound).toBeLessThan(withIt.waits / 4);
  });

  it("starts the scheduler's picks: one pickSlots call per round, the catch-up bound checked at each pick", () => {
    // Tick 0, nothing ended yet: every key is 0 and a job counts as one tick (60 s). A pick adds
    // 60 / weight to a key: 120 for a and b, 60 for c. Third and fourth picks: c (0, then 60) is
    // behind a (120) by more than the 60 s bound, but not by more than the bound and a's step
    // (120): the floor, 120 − 60 − 120, raises nothing, and c gets two of the four devices, as
    // the weights 1:1:2 say. A floor without a's step raised c to 60 and gave the fourth to a.
    const tenants = [
      { name: 'a', weight: 0.5, jobsPerSecond: 1 },
      { name: 'b', weight: 0.5, jobsPerSecond: 1 },
      { name: 'c', weight: 1, jobsPerSecond: 1 },
    ];
    const starts: string[] = [];
    simulate(
      base({
        devices: 4,
        tenants,
        seconds: 60,
        duration: () => 86_400,
        onStart: (i, tick) => starts.push(`${tenants[i].name}@${tick}`),
      }),
    );
    const loads: TenantLoad[] = tenants.map(({ name, weight }) => ({
      name,
      weight,
      usage: 0,
      running: 0,
      queued: 60,
      maxRunning: 4,
    }));
    const picks = pickSlots(loads, 4, 60, 60).picks.map((p) => `${p.name}@0`);
    expect(picks).toEqual(['a@0', 'b@0', 'c@0', 'c@0']);
    expect(starts).toEqual(picks);
  });

  it('is reproducible from its seed', () => {
    const cfg = () =>
      base({
        tenants: [{ name: 'a', weight: 1, jobsPerSecond: 0.05 }],
        duration: (rnd) => 60 + 600 * rnd(),
        random: seededRandom(3),
      });
    expect(simulate(cfg()).jobsSubmitted).toBe(simulate(cfg()).jobsSubmitted);
  });
});
