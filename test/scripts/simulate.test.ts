// The policy simulator's core on cases whose answer is known: weights 1 and 3 share the
// devices 25/75, and a tenant arriving late into a busy centre starts at once, then gets
// its weight's share instead of waiting for the other's backlog.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../kernels/random.ts';
import { simulate, type SimConfig } from '../../scripts/simulate/core.ts';

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
  it('two backlogged tenants of weights 1 and 3 converge to 25/75', () => {
    const r = simulate(
      base({
        tenants: [
          { name: 'a', weight: 1, jobsPerSecond: flood },
          { name: 'b', weight: 3, jobsPerSecond: flood },
        ],
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
