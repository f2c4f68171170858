// Within a tenant, a job's priority orders: higher first, then submission order. Against a
// real scheduler, a real worker with one slot, and real Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsineClient } from '../../client/client.ts';
import type { JobView } from '../../shared/job-view.ts';
import { Cluster, jobUntil } from '../support/cluster.ts';

const cluster = new Cluster({ port: 8870, tenants: [{ name: 'a' }], workers: [{ USINE_WORKER_CONCURRENCY: '1' }] });
const a = () => new UsineClient({ url: cluster.url, token: Cluster.token('a') });

beforeAll(() => cluster.start());
afterAll(() => cluster.stop());

const until = (id: string, pred: (v: JobView) => boolean) => jobUntil(a(), id, pred, 30_000);

describe('priority within a tenant', () => {
  it('starts queued jobs highest priority first, and jobs of equal priority in submission order', async () => {
    const blocker = await a().submit({ type: 'noop', params: { sleepMs: 1500 } });
    await until(blocker.id, (v) => v.state === 'running');
    // Queued behind the blocker: three at the default priority 0, then 10, then 5, then 0 again.
    const job = (priority: number) => ({ type: 'noop' as const, params: { sleepMs: 20 }, priority });
    const { ids } = await a().submitBatch([job(0), job(0), job(0), job(10), job(5)]);
    const late = await a().submit(job(0));
    const views = await Promise.all([...ids, late.id].map((id) => until(id, (v) => v.state === 'succeeded')));
    const started = [...views].sort((x, y) => Date.parse(x.startedAt!) - Date.parse(y.startedAt!));
    expect(started.map((v) => v.priority)).toEqual([10, 5, 0, 0, 0, 0]);
    expect(started.slice(2).map((v) => v.id)).toEqual([ids[0], ids[1], ids[2], late.id]);
  });

  it("a prioritized job submitted while the worker runs through the same tenant's priority-0 jobs goes next", async () => {
    // The worker chains a tenant's FIFO jobs while that tenant alone has work; a prioritized
    // submit must end the chain, not wait behind it.
    const { ids } = await a().submitBatch(
      Array.from({ length: 40 }, () => ({ type: 'noop' as const, params: { sleepMs: 10 } })),
    );
    await until(ids[2], (v) => v.state !== 'queued');
    const urgent = await a().submit({ type: 'noop', params: { sleepMs: 0 }, priority: 5 });
    const before = (await Promise.all(ids.map((id) => a().get(id)))).filter((v) => v.state !== 'queued').length;
    const u = await until(urgent.id, (v) => v.state === 'succeeded');
    const views = await Promise.all(ids.map((id) => until(id, (v) => v.state === 'succeeded')));
    const startedFirst = views.filter((v) => Date.parse(v.startedAt!) < Date.parse(u.startedAt!)).length;
    // At most the job running when it arrived (and one finishing at that moment) went first.
    expect(startedFirst).toBeLessThanOrEqual(before + 1);
    expect(startedFirst).toBeLessThan(20);
  });
});
