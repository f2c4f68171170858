// /v1/workers and /v1/usage — the real API in process; workers are heartbeats, usage is charged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerRecord } from '../../../scheduler/state/workers.ts';
import type { WorkerList } from '../../../shared/api-responses.ts';
import { Api, expectError, LAVAPIPE } from '../../support/api.ts';

let api: Api;
beforeAll(async () => {
  api = await Api.start({ tenants: [{ name: 'a' }, { name: 'b' }] });
});
afterAll(() => api?.close());

interface Usage {
  from: string;
  to: string;
  tenants: { tenant: string; jobs: number; deviceSeconds: number; flops: number; joules: number }[];
}

describe('/v1/workers', () => {
  it('lists live workers by name with their region and capabilities', async () => {
    await api.registerWorker('w1', { region: 'us', features: [] });
    await api.registerWorker('w0', { region: 'eu' });
    const { workers } = (await api.as('a').get<{ workers: WorkerRecord[] }>('/v1/workers')).json;
    expect(workers.map((w) => [w.name, w.caps.region])).toEqual([
      ['w0', 'eu'],
      ['w1', 'us'],
    ]);
    expect(workers[0].caps.features).toContain('shader-f16');
    expect(workers[1].caps.features).toEqual([]);
  });

  it("shows a tenant only its own running jobs, an operator everyone's; both see the busy slots", async () => {
    const now = new Date().toISOString();
    const job = (id: string, tenant: string) => ({
      id,
      tenant,
      queue: `t.${tenant}.any`,
      priority: 0,
      preemptible: true,
      startedAt: Date.now(),
      checkpointAt: null,
    });
    const detailed = ['a.any.1', 'b.any.2', 'b.any.p.3'];
    await api.ctx.workers.heartbeat({
      ...{ id: 'busy-1', name: 'w2-busy', caps: LAVAPIPE, adapter: 'fake', concurrency: 4, startedAt: now },
      running: detailed,
      jobs: detailed.map((id) => job(id, id.split('.')[0])),
      lastHeartbeat: now,
    });
    // An older worker sends ids only: the id names the tenant; an id usine did not make names none.
    await api.ctx.workers.heartbeat({
      ...{ id: 'old-1', name: 'w3-old', caps: LAVAPIPE, adapter: 'fake', concurrency: 4, startedAt: now },
      running: ['a.any.4', 'b.any.5', 'foreign-id'],
      lastHeartbeat: now,
    });
    const seen = async (who: string) =>
      Object.fromEntries(
        (await api.as(who).get<WorkerList>('/v1/workers')).json.workers
          .filter((w) => w.name.startsWith('w2') || w.name.startsWith('w3'))
          .map((w) => [w.name, { running: w.running, jobs: w.jobs?.map((j) => j.id), busy: w.busy }]),
      );
    expect(await seen('a')).toEqual({
      'w2-busy': { running: ['a.any.1'], jobs: ['a.any.1'], busy: 3 },
      'w3-old': { running: ['a.any.4'], jobs: undefined, busy: 3 },
    });
    expect(await seen('b')).toEqual({
      'w2-busy': { running: ['b.any.2', 'b.any.p.3'], jobs: ['b.any.2', 'b.any.p.3'], busy: 3 },
      'w3-old': { running: ['b.any.5'], jobs: undefined, busy: 3 },
    });
    const raw = (await api.as('a').get('/v1/workers')).raw.toString();
    for (const other of ['b.any', 'foreign-id', '"tenant":"b"']) expect(raw).not.toContain(other);
    expect(await seen('admin')).toEqual({
      'w2-busy': { running: detailed, jobs: detailed, busy: 3 },
      'w3-old': { running: ['a.any.4', 'b.any.5', 'foreign-id'], jobs: undefined, busy: 3 },
    });
    await api.ctx.workers.remove('busy-1');
    await api.ctx.workers.remove('old-1');
  });
});

describe('/v1/usage', () => {
  it("reports per-tenant usage: a tenant sees its own, an operator everyone's", async () => {
    await api.ctx.usage.charge('a', 2.5, 1e9, 3);
    await api.ctx.usage.charge('b', 1, 5, 1);
    // Energy comes from the workers' job events, as the scheduler reads them (scheduler.ts).
    await api.ctx.usage.chargeEnergy([
      { tenant: 'a', joules: 100 },
      { tenant: 'a', joules: 62.5 },
      { tenant: 'b', joules: 0 },
    ]);
    const mine = (await api.as('a').get<Usage>('/v1/usage?since=1h')).json;
    expect(mine.tenants).toEqual([{ tenant: 'a', jobs: 3, deviceSeconds: 2.5, flops: 1e9, joules: 162.5 }]);
    const all = (await api.as('admin').get<Usage>('/v1/usage?since=1h')).json;
    expect(all.tenants.map((t) => t.tenant).sort()).toEqual(['a', 'b']);
    expect(all.tenants.find((t) => t.tenant === 'b')?.joules).toBe(0);
    expect(Date.parse(all.to) - Date.parse(all.from)).toBeGreaterThanOrEqual(3600_000 - 1000);
  });

  it('refuses a bad window with 400 invalid_query', async () => {
    expectError(await api.as('a').get('/v1/usage?since=yesterday'), 400, 'invalid_query', /since\/until/);
    expectError(await api.as('a').get('/v1/usage?colour=red'), 400, 'invalid_query');
  });
});
