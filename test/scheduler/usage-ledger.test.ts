// The usage ledger against real Redis: a flush charging many tenants in one script keeps each
// tenant's decayed usage, the moving mean per job and the hour's totals as one charge per
// tenant would; the decayed usage takes what the attempts accrued as they ran, the totals and
// the mean their raw seconds; raises only ever raise. Figures are checked against the decay and
// accrual formulas (policy/fair-share.ts) computed here, not against fixed numbers.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connectRedis } from '../../shared/redis.ts';
import { createLogger } from '../../shared/logger.ts';
import { accrued, decay } from '../../scheduler/policy/fair-share.ts';
import { AccountingBuffer } from '../../scheduler/queue/accounting-buffer.ts';
import { Keys } from '../../scheduler/state/keys.ts';
import { UsageLedger } from '../../scheduler/state/usage.ts';

const redis = connectRedis(inject('redisUrl'));
afterAll(() => redis.disconnect());
let run = 0;
const HALF = 600;

function ledger() {
  const keys = new Keys(`usage${process.pid}-${++run}`);
  return { keys, usage: new UsageLedger(redis, keys, HALF) };
}

describe('usage ledger', () => {
  it('charges many tenants in one call as separate charges would, decaying what was there', async () => {
    const many = ledger();
    const one = ledger();
    const t0 = Date.UTC(2026, 10, 30, 10, 15);
    // Hours-long attempts, so that what they accrued differs from their raw seconds by far more
    // than the comparisons' precision. charge() takes attempts of equal length ending now.
    const acc = (seconds: number, jobs: number) => jobs * accrued(seconds / jobs, HALF);
    const charges = [
      { tenant: 'a', seconds: 30_000, decayed: acc(30_000, 3), flops: 1e9, jobs: 3 },
      { tenant: 'b', seconds: 2.5, decayed: acc(2.5, 1), flops: 0, jobs: 1 },
      { tenant: 'c', seconds: 0.25, decayed: acc(0.25, 2), flops: 7, jobs: 2 },
    ];
    await many.usage.chargeMany(charges, t0);
    for (const c of charges) await one.usage.charge(c.tenant, c.seconds, c.flops, c.jobs, t0);
    // 300 s later, a second flush for 'a' only: its first charge has decayed by then.
    const hour = { tenant: 'a', seconds: 3600, decayed: acc(3600, 1), flops: 0, jobs: 1 };
    await many.usage.chargeMany([hour], t0 + 300_000);
    await one.usage.charge('a', 3600, 0, 1, t0 + 300_000);

    const at = t0 + 300_000;
    const a = await many.usage.snapshot(at);
    const b = await one.usage.snapshot(at);
    expect(a.usage.get('a')).toBeCloseTo(decay(acc(30_000, 3), 300, HALF) + accrued(3600, HALF), 9);
    // An hour held steadily weighs a half-life's worth less than its raw seconds (h/ln 2 · ½).
    expect(accrued(3600, HALF)).toBeLessThan(3600 * 0.8);
    expect(a.usage.get('b')).toBeCloseTo(decay(accrued(2.5, HALF), 300, HALF), 9);
    for (const [t, u] of b.usage) expect(a.usage.get(t)).toBeCloseTo(u, 9);
    expect(a.meanJobSeconds).toBeCloseTo(b.meanJobSeconds, 12);
    // The mean moves towards each charge's seconds per job, 0.9 kept per job.
    let mean = 30_000 / 3;
    for (const c of [...charges, { seconds: 3600, jobs: 1 }]) {
      const keep = 0.9 ** c.jobs;
      mean = mean * keep + (c.seconds / c.jobs) * (1 - keep);
    }
    expect(a.meanJobSeconds).toBeCloseTo(mean, 9);

    const totals = await many.usage.totals(t0, at);
    expect(totals).toEqual(await one.usage.totals(t0, at));
    expect(totals.find((t) => t.tenant === 'a')).toMatchObject({ deviceSeconds: 33_600, jobs: 4, flops: 1e9 });
    expect(totals.find((t) => t.tenant === 'c')).toMatchObject({ deviceSeconds: 0.25, jobs: 2, flops: 7 });
    const ttl = await redis.ttl(many.keys.usageHour(Math.floor(t0 / 3_600_000)));
    expect(ttl).toBeGreaterThan(300 * 24 * 3600);
  });

  it("a worker's buffer charges each attempt's accrual to the decayed usage, its seconds to the totals", async () => {
    const { keys, usage } = ledger();
    const buffer = new AccountingBuffer(redis, keys, usage, createLogger('usage-ledger-test', 'warn'), 60_000);
    buffer.charge('a', 1800, 5);
    buffer.charge('a', 7200, 0);
    buffer.charge('b', 1, 0);
    const t = Date.now();
    await buffer.flush();
    const s = await usage.snapshot(t);
    // Within the ms between the flush and t (decay by ≤ a second at a 600 s half-life: < 0.2 %).
    expect(s.usage.get('a')! / (accrued(1800, HALF) + accrued(7200, HALF))).toBeCloseTo(1, 2);
    expect(s.usage.get('b')! / accrued(1, HALF)).toBeCloseTo(1, 2);
    const totals = await usage.totals(t, t);
    expect(totals.find((x) => x.tenant === 'a')).toMatchObject({ deviceSeconds: 9000, jobs: 2, flops: 5 });
    expect(s.meanJobSeconds).toBeGreaterThan(1000);
  });

  it('raises only: a raise below the decayed usage leaves it, one above sets it', async () => {
    const { usage } = ledger();
    const t0 = Date.now();
    await usage.charge('a', 100, 0, 1, t0);
    await usage.charge('b', 5, 0, 1, t0);
    await usage.raise(
      new Map([
        ['a', 50],
        ['b', 20],
        ['new', 7],
      ]),
      t0,
    );
    const s = await usage.snapshot(t0);
    expect(s.usage.get('a')).toBeCloseTo(accrued(100, HALF), 9);
    expect(s.usage.get('b')).toBeCloseTo(20, 9);
    expect(s.usage.get('new')).toBeCloseTo(7, 9);
  });
});
