// Fair share with real parts: three tenants (weights 1:1:2) flood short jobs onto two
// workers; the third arrives late. Device time is measured from the jobs' own start/end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsineClient } from '../../client/client.ts';
import type { JobView } from '../../shared/job-view.ts';
import { Cluster } from '../support/cluster.ts';

const cluster = new Cluster({
  port: 8790,
  tenants: [
    { name: 'a', weight: 1 },
    { name: 'b', weight: 1 },
    { name: 'c', weight: 2 },
  ],
  workers: [{}, {}],
  env: { USINE_FAIR_SHARE_CATCH_UP_SECONDS: '0.5' },
});
const as = (t: string) => new UsineClient({ url: cluster.url, token: Cluster.token(t) });
const admin = () => new UsineClient({ url: cluster.url, token: cluster.adminToken });

beforeAll(() => cluster.start());
afterAll(() => cluster.stop());

const JOB_MS = 100;
const noop = { type: 'noop' as const, params: { sleepMs: JOB_MS } };

/** Device-seconds per tenant of the parts of jobs that ran inside [from, to]. */
function deviceTime(jobs: JobView[], from: number, to: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const j of jobs) {
    if (!j.startedAt || !j.finishedAt) continue;
    const s = Math.max(from, Date.parse(j.startedAt));
    const e = Math.min(to, Date.parse(j.finishedAt));
    if (e > s) out.set(j.tenant, (out.get(j.tenant) ?? 0) + (e - s) / 1000);
  }
  return out;
}

describe('fair share between tenants', () => {
  it('converges to the weights, gives a late tenant its share promptly, starves no one', async () => {
    // a and b flood first; c (weight 2) arrives 3 s later.
    await as('a').submitBatch(Array(150).fill(noop));
    await as('b').submitBatch(Array(150).fill(noop));
    await new Promise((r) => setTimeout(r, 3000));
    const cArrives = Date.now();
    await as('c').submitBatch(Array(200).fill(noop));
    await new Promise((r) => setTimeout(r, 8000));
    const end = Date.now();
    const jobs = (await admin().list({ state: 'succeeded', limit: 1000 })).jobs;
    const queued = (await admin().list({ state: 'queued', limit: 1000 })).jobs;
    // Everyone still had work queued when we measured (otherwise shares are not defined).
    for (const t of ['a', 'b', 'c'])
      expect(
        queued.some((j) => j.tenant === t),
        `tenant ${t} still has work`,
      ).toBe(true);

    // Before c: a and b share evenly.
    const early = deviceTime(jobs, cArrives - 2500, cArrives);
    expect(early.get('a')! / (early.get('a')! + early.get('b')!)).toBeGreaterThan(0.4);
    expect(early.get('a')! / (early.get('a')! + early.get('b')!)).toBeLessThan(0.6);

    // After a 1 s warm-up, device time follows the weights 25/25/50 within ±10%.
    const late = deviceTime(jobs, cArrives + 1000, end);
    const total = [...late.values()].reduce((s, v) => s + v, 0);
    const share = (t: string) => (late.get(t) ?? 0) / total;
    console.log(
      `device-time shares after c arrived: a ${share('a').toFixed(3)}, b ${share('b').toFixed(3)}, c ${share('c').toFixed(3)} over ${total.toFixed(1)} s`,
    );
    expect(total).toBeGreaterThan(2 * 7 * 0.8); // both workers busy nearly all the time
    expect(share('a')).toBeGreaterThan(0.25 * 0.9);
    expect(share('a')).toBeLessThan(0.25 * 1.1);
    expect(share('b')).toBeGreaterThan(0.25 * 0.9);
    expect(share('b')).toBeLessThan(0.25 * 1.1);
    expect(share('c')).toBeGreaterThan(0.5 * 0.9);
    expect(share('c')).toBeLessThan(0.5 * 1.1);

    // c got its share within its first second: at least half the device time of that second.
    const first = deviceTime(jobs, cArrives, cArrives + 1000);
    const firstShare = (first.get('c') ?? 0) / [...first.values()].reduce((s, v) => s + v, 0);
    console.log(`c's share of its first second: ${firstShare.toFixed(3)}`);
    expect(firstShare).toBeGreaterThanOrEqual(0.5);

    // No starvation. While c catches up (its first second) it must leave the others time:
    const catchUp = deviceTime(jobs, cArrives, cArrives + 1000);
    expect((catchUp.get('a') ?? 0) + (catchUp.get('b') ?? 0), 'a and b served while c caught up').toBeGreaterThan(0);
    // then a and b each run something in every second. (Within c's first second, one of a and
    // b may wait it out: c's catch-up, about a device-second (the bound and one job of the tenant above it, policy/fair-share.ts),
    // plus the other's lead, on two slots.)
    for (let t = cArrives + 1000; t + 1000 <= end; t += 1000) {
      const w = deviceTime(jobs, t, t + 1000);
      expect(w.get('a') ?? 0, `a served in second ${(t - cArrives) / 1000}`).toBeGreaterThan(0);
      expect(w.get('b') ?? 0, `b served in second ${(t - cArrives) / 1000}`).toBeGreaterThan(0);
    }
  });
});
