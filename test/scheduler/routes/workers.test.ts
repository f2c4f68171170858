// /v1/workers and /v1/usage — the real API in process; workers are heartbeats, usage is charged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerRecord } from '../../../scheduler/state/workers.ts';
import { Api, expectError } from '../../support/api.ts';

let api: Api;
beforeAll(async () => {
  api = await Api.start({ tenants: [{ name: 'a' }, { name: 'b' }] });
});
afterAll(() => api?.close());

interface Usage {
  from: string;
  to: string;
  tenants: { tenant: string; jobs: number; deviceSeconds: number; flops: number }[];
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
});

describe('/v1/usage', () => {
  it("reports per-tenant usage: a tenant sees its own, an operator everyone's", async () => {
    await api.ctx.usage.charge('a', 2.5, 1e9, 3);
    await api.ctx.usage.charge('b', 1, 5, 1);
    const mine = (await api.as('a').get<Usage>('/v1/usage?since=1h')).json;
    expect(mine.tenants).toEqual([expect.objectContaining({ tenant: 'a', jobs: 3, deviceSeconds: 2.5, flops: 1e9 })]);
    const all = (await api.as('admin').get<Usage>('/v1/usage?since=1h')).json;
    expect(all.tenants.map((t) => t.tenant).sort()).toEqual(['a', 'b']);
    expect(Date.parse(all.to) - Date.parse(all.from)).toBeGreaterThanOrEqual(3600_000 - 1000);
  });

  it('refuses a bad window with 400 invalid_query', async () => {
    expectError(await api.as('a').get('/v1/usage?since=yesterday'), 400, 'invalid_query', /since\/until/);
    expectError(await api.as('a').get('/v1/usage?colour=red'), 400, 'invalid_query');
  });
});
