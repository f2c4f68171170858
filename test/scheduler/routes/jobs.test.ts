// /v1/jobs: submit, follow, list, cancel — the real API in process over real Redis and BullMQ.
// No worker runs here: jobs stay queued, which is what these routes are about.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../../shared/job-view.ts';
import { Api, expectError } from '../../support/api.ts';

let api: Api;
beforeAll(async () => {
  api = await Api.start({ tenants: [{ name: 'a' }, { name: 'b' }] });
});
afterAll(() => api?.close());

const noop = { type: 'noop', params: {} };
const a = () => api.as('a');
const b = () => api.as('b');

describe('/v1/jobs', () => {
  it('submits a job as queued; its id names its queue: tenant, requirement class, then a random part', async () => {
    const r = await a().post<{ id: string; state: string }>('/v1/jobs', noop);
    expect(r.status).toBe(201);
    expect(r.json).toEqual({ id: expect.stringMatching(/^a\.any\.[0-9a-f-]{36}$/), state: 'queued' });
    const v = await a().get<JobView>(`/v1/jobs/${r.json.id}`);
    expect(v.json).toMatchObject({ id: r.json.id, type: 'noop', tenant: 'a', state: 'queued', attempts: 0 });
    // No worker has ever been seen: the job waits, and says why.
    expect(v.json.waitingFor).toBe('no worker is online');
    const batch = await a().post<{ ids: string[] }>('/v1/jobs/batch', { jobs: [noop, { ...noop, priority: 5 }] });
    expect(batch.status).toBe(201);
    expect(batch.json.ids).toEqual([
      expect.stringMatching(/^a\.any\.[0-9a-f-]{36}$/),
      expect.stringMatching(/^a\.any\.p\.[0-9a-f-]{36}$/),
    ]);
  });

  it('refuses a bad spec with 400 naming the field', async () => {
    const bad = await a().post<{ error: { details: unknown } }>('/v1/jobs', {
      type: 'matmul',
      params: { m: 0, n: 4, k: 4 },
    });
    expectError(bad, 400, 'invalid_spec', /params\.m/);
    expect(bad.json.error.details).toEqual([{ field: 'params.m', reason: expect.stringMatching(/at least 1/) }]);
    expectError(await a().post('/v1/jobs', { type: 'nope', params: {} }), 400, 'invalid_spec');
    expectError(
      await a().post('/v1/jobs/batch', { jobs: [noop, { type: 'noop', params: {}, priority: -1 }] }),
      400,
      'invalid_spec',
      /jobs\.1\.priority/,
    );
    expectError(await a().post('/v1/jobs', noop.type), 400, 'invalid_spec');
    expectError(await a().get('/v1/jobs?limit=0'), 400, 'invalid_query', /limit/);
    expectError(await a().get('/v1/jobs?colour=red'), 400, 'invalid_query');
  });

  it('answers 404 for job ids it never made: malformed, of a queue that does not exist, or unknown', async () => {
    for (const id of ['nope', 'a.any', 'a.any.', 'zz.any.0000', 'a.0123456789ab.0000', 'a.any.0000']) {
      expectError(await a().get(`/v1/jobs/${encodeURIComponent(id)}`), 404, 'not_found', /no job with id/);
      expectError(await a().get(`/v1/jobs/${encodeURIComponent(id)}/logs`), 404, 'not_found');
      expectError(await a().post(`/v1/jobs/${encodeURIComponent(id)}/cancel`), 404, 'not_found');
      expectError(await a().get(`/v1/jobs/${encodeURIComponent(id)}/artifacts`), 404, 'not_found');
    }
  });

  it("isolates tenants: another tenant's job is not found, lists are one's own; admin sees all", async () => {
    const { id } = (await b().post<{ id: string }>('/v1/jobs', noop)).json;
    expectError(await a().get(`/v1/jobs/${id}`), 404, 'not_found');
    expectError(await a().get(`/v1/jobs/${id}/logs`), 404, 'not_found');
    expectError(await a().post(`/v1/jobs/${id}/cancel`), 404, 'not_found');
    expectError(await a().get(`/v1/jobs/${id}/artifacts`), 404, 'not_found');
    expect((await b().get<JobView>(`/v1/jobs/${id}`)).json.state).toBe('queued');
    const mine = (await a().get<{ jobs: JobView[] }>('/v1/jobs')).json.jobs;
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((j) => j.tenant === 'a')).toBe(true);
    // Naming another tenant in the query does not widen a tenant's list.
    expect((await a().get<{ jobs: JobView[] }>('/v1/jobs?tenant=b')).json.jobs).toEqual([]);
    expect((await api.as('admin').get<JobView>(`/v1/jobs/${id}`)).json.tenant).toBe('b');
    expect(
      (await api.as('admin').get<{ jobs: JobView[] }>('/v1/jobs?tenant=b')).json.jobs.some((j) => j.id === id),
    ).toBe(true);
    const all = (await api.as('admin').get<{ jobs: JobView[] }>('/v1/jobs')).json.jobs;
    expect(new Set(all.map((j) => j.tenant))).toEqual(new Set(['a', 'b']));
  });

  it('cancels a queued job at once: its view says so, and it leaves the queue', async () => {
    const { id } = (await a().post<{ id: string }>('/v1/jobs', noop)).json;
    const r = await a().post<JobView>(`/v1/jobs/${id}/cancel`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id, state: 'cancelled' });
    expect((await a().get<JobView>(`/v1/jobs/${id}`)).json.state).toBe('cancelled');
    expect((await a().get<{ id: string; logs: string[] }>(`/v1/jobs/${id}/logs`)).json).toEqual({
      id,
      logs: expect.any(Array),
    });
    const queued = (await a().get<{ jobs: JobView[] }>('/v1/jobs?state=queued')).json.jobs;
    expect(queued.length).toBeGreaterThan(0);
    expect(queued.map((j) => j.id)).not.toContain(id);
    // Listed as cancelled (its final view), to its tenant and to an admin, not to another tenant.
    const ids = async (as: typeof a, query: string) =>
      (await as().get<{ jobs: JobView[] }>(`/v1/jobs${query}`)).json.jobs.map((j) => j.id);
    expect(await ids(a, '?state=cancelled')).toContain(id);
    expect(await ids(a, '')).toContain(id);
    expect(await ids(() => api.as('admin'), '?state=cancelled')).toContain(id);
    expect(await ids(b, '?state=cancelled')).not.toContain(id);
    expect(await ids(b, '?tenant=a&state=cancelled')).toEqual([]);
  });

  it('lists a job held for its dependency as queued, with why it waits', async () => {
    const { id: dep } = (await a().post<{ id: string }>('/v1/jobs', noop)).json;
    const { id } = (await a().post<{ id: string }>('/v1/jobs', { ...noop, dependsOn: dep })).json;
    const queued = (await a().get<{ jobs: JobView[] }>('/v1/jobs?state=queued')).json.jobs;
    expect(queued.find((j) => j.id === id)?.waitingFor).toBe(`waiting for job ${dep} to succeed`);
    expect((await b().get<{ jobs: JobView[] }>('/v1/jobs')).json.jobs.map((j) => j.id)).not.toContain(id);
  });
});
