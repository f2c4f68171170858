// GET /v1/tenant: who the token is, and its tenant's quotas, jobs and fair share now — the
// same figures the gauges export (usine_tenant_*), from the real API in process over real Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshGauges } from '../../../scheduler/gauges.ts';
import { accrued } from '../../../scheduler/policy/fair-share.ts';
import type { WhoAmI } from '../../../shared/api-responses.ts';
import { Api, expectError } from '../../support/api.ts';

let api: Api;
let open: Api;
beforeAll(async () => {
  [api, open] = await Promise.all([
    Api.start({
      tenants: [
        {
          name: 'a',
          weight: 1,
          maxRunning: 5,
          maxQueued: 7,
          preemption: { preemptible: false, withinTenant: false, guaranteedShare: 0 },
        },
        { name: 'b', weight: 3, rateLimitPerMinute: 600 },
        { name: 'idle' },
      ],
    }),
    Api.start(),
  ]);
  await api.registerWorker('w');
});
afterAll(async () => {
  await api?.close();
  await open?.close();
});

const noop = { type: 'noop', params: {} };

describe('/v1/tenant', () => {
  it("shows a tenant its own quotas, jobs, target and usage share, the gauges' numbers", async () => {
    for (let i = 0; i < 2; i++) expect((await api.as('a').post('/v1/jobs', noop)).status).toBe(201);
    expect((await api.as('b').post('/v1/jobs', noop)).status).toBe(201);
    await api.ctx.usage.charge('a', 30, 0);
    await api.ctx.usage.charge('b', 10, 0);

    const me = (await api.as('a').get<WhoAmI>('/v1/tenant')).json;
    expect(me.caller).toBe('tenant');
    expect(me.tenant).toMatchObject({
      name: 'a',
      weight: 1,
      maxRunning: 5,
      maxQueued: 7,
      preemption: { preemptible: false },
      queued: 2,
      running: 0,
      // a and b have work: weights 1 and 3; 'idle' has none and counts for nothing.
      targetShare: 0.25,
    });
    // An attempt's charge is what it accrued as it ran (decayed), a little under its seconds.
    const [ua, ub] = [30, 10].map((s) => accrued(s, api.ctx.usage.halfLifeSeconds));
    expect(me.tenant!.usageShare).toBeCloseTo(ua / (ua + ub), 3);
    expect(me.tenant!.usageDeviceSeconds).toBeCloseTo(ua, 1);
    expect(JSON.stringify(me)).not.toMatch(/tokenSha256|token-a/);
    const b = (await api.as('b').get<WhoAmI>('/v1/tenant')).json.tenant!;
    expect(b).toMatchObject({ name: 'b', queued: 1, targetShare: 0.75, rateLimitPerMinute: 600 });
    expect((await api.as('idle').get<WhoAmI>('/v1/tenant')).json.tenant).toMatchObject({ targetShare: 0, queued: 0 });

    // The metrics say the same.
    await refreshGauges(api.ctx);
    const gauge = async (name: string, tenant: string) =>
      (await api.ctx.metrics.registry.getSingleMetric(name)!.get()).values.find((v) => v.labels.tenant === tenant)!
        .value;
    expect(await gauge('usine_tenant_weight_share_ratio', 'a')).toBe(me.tenant!.targetShare);
    expect(await gauge('usine_tenant_usage_share_ratio', 'a')).toBeCloseTo(me.tenant!.usageShare, 3);
  });

  it("counts in a tenant's usage what its running jobs have accrued, per the workers' heartbeats", async () => {
    const half = api.ctx.usage.halfLifeSeconds;
    const before = (await api.as('b').get<WhoAmI>('/v1/tenant')).json.tenant!.usageDeviceSeconds;
    const startedAt = Date.now() - 1_200_000;
    const job = {
      id: 'long',
      tenant: 'b',
      queue: 'b:any',
      priority: 0,
      preemptible: true,
      startedAt,
      checkpointAt: null,
    };
    const { caps } = (await api.ctx.workers.live())[0];
    await api.ctx.workers.heartbeat({
      ...{ id: 'busy', name: 'busy', caps, adapter: 'test', concurrency: 1, running: ['long'], jobs: [job] },
      ...{ startedAt: new Date().toISOString(), lastHeartbeat: '' },
    });
    const b = (await api.as('b').get<WhoAmI>('/v1/tenant')).json.tenant!;
    // Within a second's accrual of the 20 minutes (the request takes a few ms).
    expect(b.usageDeviceSeconds - before).toBeCloseTo(accrued(1200, half), 0);
    await api.ctx.workers.remove('busy');
  });

  it('keeps a tenant to its own: naming another is 403, naming itself is fine', async () => {
    expectError(await api.as('a').get('/v1/tenant?tenant=b'), 403, 'forbidden', /own tenant only \(a\)/);
    expect((await api.as('a').get<WhoAmI>('/v1/tenant?tenant=a')).json.tenant?.name).toBe('a');
    expectError(await api.as('a').get('/v1/tenant?colour=red'), 400, 'invalid_query');
  });

  it('tells an operator it is one, and shows any tenant it names', async () => {
    expect((await api.as('admin').get<WhoAmI>('/v1/tenant')).json).toEqual({ caller: 'admin', tenant: null });
    expect((await api.as('admin').get<WhoAmI>('/v1/tenant?tenant=b')).json).toMatchObject({
      caller: 'admin',
      tenant: { name: 'b', weight: 3, queued: 1 },
    });
    expectError(await api.as('admin').get('/v1/tenant?tenant=nobody'), 404, 'not_found', /no tenant nobody/);
    expectError(await api.call(null, 'GET', '/v1/tenant'), 401, 'unauthorized');
  });

  it('says open mode, with the default tenant', async () => {
    const r = (await open.call<WhoAmI>(null, 'GET', '/v1/tenant')).json;
    expect(r).toMatchObject({ caller: 'open', tenant: { name: 'default', weight: 1, queued: 0 } });
  });
});
