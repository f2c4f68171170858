// /v1/tenants: the operators' tenant table and token minting — the real API in process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, expectError } from '../../support/api.ts';
import { tenantSchema } from '../../../scheduler/state/tenants.ts';

let api: Api;
beforeAll(async () => {
  api = await Api.start({ tenants: [{ name: 'a' }] });
});
afterAll(() => api?.close());

const admin = () => api.as('admin');

describe('/v1/tenants', () => {
  it('creates and changes tenants (201, then 200), and mints tokens that work, shown once', async () => {
    const created = await admin().put('/v1/tenants/newco', { weight: 3, maxRunning: 2 });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'newco', weight: 3, maxRunning: 2, tokens: 0 });
    const minted = await admin().post<{ tenant: string; token: string }>('/v1/tenants/newco/tokens');
    expect(minted.status).toBe(201);
    const { token } = minted.json;
    expect(minted.json).toEqual({ tenant: 'newco', token: expect.stringMatching(/^usn_/) });
    const submitted = await api.call<{ id: string }>(token, 'POST', '/v1/jobs', { type: 'noop', params: {} });
    expect(submitted.status).toBe(201);
    expect(submitted.json.id).toMatch(/^newco\.any\./);
    const list = await admin().get<{ tenants: { name: string }[] }>('/v1/tenants');
    expect(list.json.tenants.find((x) => x.name === 'newco')).toMatchObject({ weight: 3, maxRunning: 2, tokens: 1 });
    expect(list.raw.toString()).not.toContain(token);
    expect(list.raw.toString()).not.toContain('tokenSha256');
    // A change keeps the tokens.
    const changed = await admin().put('/v1/tenants/newco', { weight: 5 });
    expect(changed.status).toBe(200);
    expect(changed.json).toMatchObject({ weight: 5, tokens: 1 });
    expect((await api.call(token, 'GET', '/v1/jobs')).status).toBe(200);
  });

  it("keeps an admin's change over a replica's restart (the same file seeds again), and takes an edited file entry", async () => {
    const fileEntry = tenantSchema.parse({ name: 'seeded', weight: 1 });
    const gone = tenantSchema.parse({ name: 'gone' });
    await api.ctx.tenants.seed([fileEntry, gone]);
    expect((await admin().put('/v1/tenants/seeded', { weight: 7 })).status).toBe(200);
    expect((await admin().delete('/v1/tenants/gone')).status).toBe(204);
    // A scheduler (re)starting with the unchanged file: the live table stays as the admin left it.
    await api.ctx.tenants.seed([fileEntry, gone]);
    const names = async () => (await admin().get<{ tenants: { name: string; weight: number }[] }>('/v1/tenants')).json;
    expect((await names()).tenants.find((t) => t.name === 'seeded')?.weight).toBe(7);
    expect((await names()).tenants.find((t) => t.name === 'gone')).toBeUndefined();
    // The file's entry edited: it wins.
    await api.ctx.tenants.seed([{ ...fileEntry, weight: 2 }]);
    expect((await names()).tenants.find((t) => t.name === 'seeded')?.weight).toBe(2);
  });

  it('refuses an invalid tenant with 400 naming the field', async () => {
    expectError(await admin().put('/v1/tenants/bad', { weight: -1 }), 400, 'invalid_tenant', /weight/);
    expectError(await admin().put('/v1/tenants/Bad_Name', {}), 400, 'invalid_tenant', /name/);
    expectError(await admin().put('/v1/tenants/bad', { colour: 'red' }), 400, 'invalid_tenant');
  });

  it('takes a preemption block, and refuses a bad one naming the field, changing nothing', async () => {
    const ok = await admin().put('/v1/tenants/lab', {
      preemption: { minRuntimeSeconds: 300, withinTenant: true, guaranteedShare: 0.25 },
    });
    expect(ok.status).toBe(201);
    expect(ok.json).toMatchObject({
      preemption: { preemptible: true, minRuntimeSeconds: 300, withinTenant: true, guaranteedShare: 0.25 },
    });
    const bad = [
      [{ preemption: { minRuntimeSeconds: 'soon' } }, /preemption\.minRuntimeSeconds/],
      [{ preemption: { minRuntimeSeconds: -1 } }, /preemption\.minRuntimeSeconds/],
      [{ preemption: { guaranteedShare: 2 } }, /preemption\.guaranteedShare/],
      [{ preemption: { graceSeconds: 10 } }, /preemption/],
    ] as const;
    for (const [body, field] of bad)
      expectError(await admin().put('/v1/tenants/lab', { ...body, weight: 9 }), 400, 'invalid_tenant', field);
    const list = await admin().get<{ tenants: { name: string; weight: number }[] }>('/v1/tenants');
    expect(list.json.tenants.find((x) => x.name === 'lab')?.weight).toBe(1); // nothing half-applied
  });

  it('deletes a tenant (204), after which its token no longer works; unknown tenants are 404', async () => {
    await admin().put('/v1/tenants/gone', {});
    const { token } = (await admin().post<{ token: string }>('/v1/tenants/gone/tokens')).json;
    expect((await api.call(token, 'GET', '/v1/jobs')).status).toBe(200);
    expect((await admin().delete('/v1/tenants/gone')).status).toBe(204);
    expectError(await api.call(token, 'GET', '/v1/jobs'), 401, 'unauthorized');
    expectError(await admin().delete('/v1/tenants/gone'), 404, 'not_found', /no tenant gone/);
    expectError(await admin().post('/v1/tenants/gone/tokens'), 404, 'not_found');
  });
});
