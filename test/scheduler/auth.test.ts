// Who may call what: tokens, operators, open mode — the real API in process, real Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, expectError } from '../support/api.ts';

let api: Api;
let open: Api;
beforeAll(async () => {
  [api, open] = await Promise.all([Api.start({ tenants: [{ name: 'a' }, { name: 'b' }] }), Api.start()]);
});
afterAll(() => Promise.all([api?.close(), open?.close()]));

const noop = { type: 'noop', params: {} };

describe('tokens', () => {
  it('refuses missing and invalid tokens with 401 and a JSON reason', async () => {
    expectError(await api.call(null, 'GET', '/v1/jobs/x'), 401, 'unauthorized', /missing API token/);
    expectError(await api.call('nope', 'GET', '/v1/jobs'), 401, 'unauthorized', /invalid API token/);
    expectError(await api.call('nope', 'POST', '/v1/jobs', noop), 401, 'unauthorized');
    // A token that is not sent as a bearer token is no token.
    const basic = await api.request({ method: 'GET', url: '/v1/jobs', headers: { authorization: Api.token('a') } });
    expectError(basic, 401, 'unauthorized');
    const metrics = (await api.call(null, 'GET', '/metrics')).raw.toString();
    expect(metrics).toMatch(/^usine_job_refusals_total\{tenant="unknown",reason="unauthorized"\} 4$/m);
  });

  it('serves /healthz, /metrics and the OpenAPI document without a token', async () => {
    for (const url of ['/healthz', '/metrics', '/v1/openapi.json', '/v1/openapi.json?x=1']) {
      expect((await api.call(null, 'GET', url)).status, url).toBe(200);
    }
  });

  it('keeps operator routes to operators (403); an operator acts for a tenant only when it names one', async () => {
    expectError(await api.as('a').get('/v1/tenants'), 403, 'forbidden', /admin/);
    expectError(await api.as('a').put('/v1/tenants/a', { weight: 100 }), 403, 'forbidden');
    expectError(await api.as('a').post('/v1/tenants/a/tokens'), 403, 'forbidden');
    expectError(await api.as('a').delete('/v1/tenants/b'), 403, 'forbidden');
    expectError(await api.as('admin').post('/v1/jobs', noop), 403, 'forbidden', /\?tenant=NAME/);
    const r = await api.as('admin').post<{ id: string }>('/v1/jobs?tenant=b', noop);
    expect(r.status).toBe(201);
    expect(r.json.id).toMatch(/^b\.any\./);
    // A tenant cannot act for another by naming it.
    const mine = await api.as('a').post<{ id: string }>('/v1/jobs?tenant=b', noop);
    expect(mine.json.id).toMatch(/^a\.any\./);
  });
});

describe('open mode (no tenants file, no admin token)', () => {
  it('acts as tenant "default" with operator rights, without a token', async () => {
    const r = await open.call<{ id: string }>(null, 'POST', '/v1/jobs', noop);
    expect(r.status).toBe(201);
    expect(r.json.id).toMatch(/^default\.any\./);
    expect((await open.call<{ tenant: string }>(null, 'GET', `/v1/jobs/${r.json.id}`)).json.tenant).toBe('default');
    const tenants = await open.call<{ tenants: { name: string }[] }>(null, 'GET', '/v1/tenants');
    expect(tenants.json.tenants.map((t) => t.name)).toEqual(['default']);
  });
});
