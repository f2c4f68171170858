// Admission through the API: what may enter the queues, and the refusal (status and code)
// for what may not — the real API in process; device classes come from worker heartbeats.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, expectError } from '../support/api.ts';
import { tinyCheckpoint } from '../support/checkpoint.ts';

let api: Api;
beforeAll(async () => {
  api = await Api.start({
    tenants: [
      { name: 'a' },
      { name: 'b' },
      { name: 'euonly', regions: ['eu'] },
      { name: 'q', maxQueued: 3, maxRunning: 1 },
      { name: 'idle', maxRunning: 0 },
    ],
  });
  // As in a cluster of one lavapipe worker in region eu with all its features, one in us with none.
  await api.registerWorker('w0', { region: 'eu' });
  await api.registerWorker('w1', { region: 'us', features: [] });
});
afterAll(() => api?.close());

const a = () => api.as('a');
const noop = { type: 'noop', params: {} };

describe('admission', () => {
  it('refuses at submit what no worker class could ever run, or what is too large', async () => {
    for (const requirements of [
      { vendors: ['nvidia'] },
      { regions: ['mars'] },
      { minLimits: { maxStorageBufferBindingSize: 2 ** 40 } },
    ]) {
      expectError(await a().post('/v1/jobs', { ...noop, requirements }), 422, 'no_matching_worker_class');
    }
    const outside = await api.as('euonly').post('/v1/jobs', { ...noop, requirements: { regions: ['us'] } });
    expectError(outside, 422, 'no_matching_worker_class', /outside the tenant's allowed regions/);
    const huge = await a().post('/v1/jobs', { type: 'matmul', params: { m: 1_000_000, n: 1_000_000, k: 1 } });
    expectError(huge, 422, 'too_large', /maxStorageBufferBindingSize/);
    // A feature only w0 has narrows the job to w0's class, which is admissible.
    const f16 = await a().post<{ id: string }>('/v1/jobs', { ...noop, requirements: { features: ['shader-f16'] } });
    expect(f16.status).toBe(201);
    // In a batch, the refusal names the job.
    const batch = await a().post('/v1/jobs/batch', { jobs: [noop, { ...noop, requirements: { regions: ['mars'] } }] });
    expectError(batch, 422, 'no_matching_worker_class', /^jobs\[1\]: /);
  });

  it("inherits the tenant's allowed regions: its jobs queue for the matching class", async () => {
    const r = await api.as('euonly').post<{ id: string }>('/v1/jobs', noop);
    expect(r.status).toBe(201);
    expect(r.json.id).toMatch(/^euonly\.[0-9a-f]{12}\./);
  });

  it('enforces quotas at submit: max queued (429 quota_queued), max running 0 (429 quota_running)', async () => {
    const q = api.as('q');
    const four = await q.post('/v1/jobs/batch', { jobs: Array(4).fill({ ...noop, params: { sleepMs: 300 } }) });
    expectError(four, 429, 'quota_queued', /at most 3 queued jobs; it has 0 and this request adds 4/);
    expect(
      (await q.post('/v1/jobs/batch', { jobs: Array(3).fill({ ...noop, params: { sleepMs: 300 } }) })).status,
    ).toBe(201);
    expectError(await q.post('/v1/jobs', noop), 429, 'quota_queued', /it has 3/);
    expectError(await api.as('idle').post('/v1/jobs', noop), 429, 'quota_running', /maxRunning 0/);
  });

  it("checks an infer job's checkpoint artifact: its owner, its kind, its bytes, the prompts against it", async () => {
    const put = (tenant: string, kind: 'checkpoint' | 'upload', data: Uint8Array) =>
      api.ctx.artifacts.put({ tenant, name: 'model.safetensors', contentType: 'application/octet-stream', kind }, data);
    const infer = (artifact: string, prompts = ['12=']) =>
      a().post('/v1/jobs', { type: 'infer', params: { checkpoint: { artifact }, prompts, maxNewTokens: 4 } });
    const good = await put('a', 'checkpoint', tinyCheckpoint());
    expect((await infer(good.id)).status).toBe(201);
    expectError(await infer(good.id, ['12+']), 400, 'invalid_spec', /prompts\[0\]: vocabulary: "\+" is not a token/);
    expectError(await infer(good.id, ['1'.repeat(14)]), 400, 'invalid_spec', /exceeds the model's context of 16/);
    expectError(
      await infer((await put('b', 'checkpoint', tinyCheckpoint())).id),
      400,
      'invalid_spec',
      /no checkpoint artifact/,
    );
    expectError(
      await infer((await put('a', 'upload', tinyCheckpoint())).id),
      400,
      'invalid_spec',
      /no checkpoint artifact/,
    );
    expectError(await infer('00000000-0000-4000-8000-000000000000'), 400, 'invalid_spec', /no checkpoint artifact/);
    const corrupt = await put('a', 'checkpoint', new TextEncoder().encode('not a checkpoint at all'));
    expectError(
      await infer(corrupt.id),
      400,
      'invalid_spec',
      /params\.checkpoint\.artifact: not a readable checkpoint/,
    );
  });

  it('counts refusals by tenant and reason on /metrics', async () => {
    const text = (await api.call(null, 'GET', '/metrics')).raw.toString();
    const sample = (labels: string) =>
      Number(new RegExp(`^usine_job_refusals_total\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1]);
    expect(sample('tenant="a",reason="no_matching_worker_class"')).toBe(4);
    expect(sample('tenant="a",reason="too_large"')).toBe(1);
    expect(sample('tenant="q",reason="quota_queued"')).toBe(2);
    expect(sample('tenant="idle",reason="quota_running"')).toBe(1);
    expect(sample('tenant="a",reason="invalid_spec"')).toBe(6);
  });
});
