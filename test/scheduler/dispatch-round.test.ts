// The dispatch round end to end (USINE_DISPATCH=round): a real scheduler runs the round, real
// worker processes follow its grants, real Redis. Every job runs once, both tenants are served
// while both have work, and the scheduler's metrics show the rounds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsineClient } from '../../client/client.ts';
import { Cluster } from '../support/cluster.ts';

const cluster = new Cluster({
  port: 8720,
  tenants: [
    { name: 'a', weight: 1 },
    { name: 'b', weight: 3 },
  ],
  workers: [{}, {}],
  env: { USINE_DISPATCH: 'round' },
});
const as = (t: string) => new UsineClient({ url: cluster.url, token: Cluster.token(t) });
const admin = () => new UsineClient({ url: cluster.url, token: cluster.adminToken });

beforeAll(() => cluster.start());
afterAll(() => cluster.stop());

describe('the dispatch round', () => {
  it('runs every job once by its grants, serving both tenants, and shows its rounds in the metrics', async () => {
    const job = { type: 'noop' as const, params: { sleepMs: 30 } };
    const { ids: aIds } = await as('a').submitBatch(Array(40).fill(job));
    const { ids: bIds } = await as('b').submitBatch(Array(40).fill(job));
    const views = await Promise.all(
      [...aIds, ...bIds].map((id, i) => (i < 40 ? as('a') : as('b')).wait(id, { timeoutMs: 60_000 })),
    );
    expect(views.every((v) => v.state === 'succeeded' && v.attempts === 1)).toBe(true);
    // While both had work, b (weight 3) started more of the first 40 than a.
    const first = [...views].sort((x, y) => Date.parse(x.startedAt!) - Date.parse(y.startedAt!)).slice(0, 40);
    const bFirst = first.filter((v) => v.tenant === 'b').length;
    expect(bFirst).toBeGreaterThan(20);
    expect(first.some((v) => v.tenant === 'a')).toBe(true);
    const metrics = await (await fetch(cluster.metricsUrl)).text();
    const rounds = Number(/^usine_dispatch_round_seconds_count (\d+)/m.exec(metrics)?.[1] ?? 0);
    expect(rounds).toBeGreaterThan(1);
    expect((await admin().list({ state: 'queued' })).jobs).toEqual([]);
  });
});
