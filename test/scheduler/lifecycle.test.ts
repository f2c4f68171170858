// Tenants, matching and the job lifecycle where jobs must really run: a real scheduler, real
// workers (lavapipe) and real Redis. The HTTP contract alone (auth, refusals, error shapes,
// limits) is tested in process: test/scheduler/{auth,server,admission}.test.ts and routes/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsineClient, UsineApiError } from '../../client/client.ts';
import type { JobView } from '../../shared/job-view.ts';
import { Cluster, jobUntil } from '../support/cluster.ts';

const cluster = new Cluster({
  port: 8800,
  tenants: [{ name: 'a' }, { name: 'euonly', regions: ['eu'] }, { name: 'q', maxQueued: 3, maxRunning: 1 }],
  // w0: region eu, all its features; w1: region us, reporting no optional features.
  workers: [{ USINE_WORKER_REGION: 'eu' }, { USINE_WORKER_REGION: 'us', USINE_WORKER_FEATURES: 'none' }],
  env: { USINE_WORKER_LOCK_SECONDS: '2', USINE_WORKER_TIMEOUT_SECONDS: '3' },
});
const as = (t: string) => new UsineClient({ url: cluster.url, token: Cluster.token(t) });
const admin = () => new UsineClient({ url: cluster.url, token: cluster.adminToken });
const a = as('a');

beforeAll(() => cluster.start());
afterAll(() => cluster.stop());

const long = (repeats: number, extra: object = {}) => ({
  type: 'matmul' as const,
  params: { m: 128, n: 128, k: 128, repeats },
  ...extra,
});

const until = (id: string, pred: (v: JobView) => boolean, timeoutMs = 60_000, client = a) =>
  jobUntil(client, id, pred, timeoutMs);

describe('tenants and tokens', () => {
  it('runs the jobs of a tenant created at run time, with the token minted for it', async () => {
    await admin().putTenant('newco', { weight: 3, maxRunning: 2 });
    const { token } = await admin().mintToken('newco');
    const newco = new UsineClient({ url: cluster.url, token });
    const { id } = await newco.submit({ type: 'noop', params: {} });
    expect((await newco.wait(id, { timeoutMs: 20_000 })).state).toBe('succeeded');
  });
});

describe('matching jobs to devices', () => {
  it('runs each job only on a worker that matches its region and features', async () => {
    const specs = [
      { region: ['eu'], worker: 'w0' },
      { region: ['us'], worker: 'w1' },
      { features: ['shader-f16'], worker: 'w0' },
    ];
    for (const s of specs) {
      for (let i = 0; i < 3; i++) {
        const { id } = await a.submit({
          type: 'noop',
          params: {},
          requirements: { regions: s.region ?? [], features: s.features ?? [] },
        });
        expect((await a.wait(id, { timeoutMs: 20_000 })).worker).toBe(s.worker);
      }
    }
  });

  it("tells in a succeeded job's log where it ran and how long", async () => {
    const { id } = await a.submit({ type: 'noop', params: {}, requirements: { regions: ['us'] } });
    const v = await a.wait(id, { timeoutMs: 20_000 });
    const { logs } = await a.logs(id);
    expect(logs).toEqual([
      `${v.finishedAt} attempt 1 on worker w1 succeeded after ${Date.parse(v.finishedAt!) - Date.parse(v.startedAt!)} ms`,
    ]);
  });

  it("inherits the tenant's allowed regions", async () => {
    for (let i = 0; i < 3; i++) {
      const { id } = await as('euonly').submit({ type: 'noop', params: {} });
      expect((await as('euonly').wait(id, { timeoutMs: 20_000 })).worker).toBe('w0');
    }
  });
});

describe('job lifecycle', () => {
  it('cancels a running job and frees its worker within a second', async () => {
    const { id } = await a.submit(long(100_000, { requirements: { regions: ['us'] } }));
    await until(id, (v) => v.state === 'running' && (v.progress?.percent ?? 0) > 0);
    const t0 = Date.now();
    await a.cancel(id);
    const v = await until(id, (x) => x.state === 'cancelled');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(v.error).toBe('cancelled');
    // The device is free again: the next job on that worker starts at once.
    const next = await a.submit({ type: 'noop', params: {}, requirements: { regions: ['us'] } });
    const started = await until(next.id, (x) => x.state === 'succeeded');
    expect(Date.parse(started.startedAt!) - t0).toBeLessThan(1500);
  });

  it('cancels a queued job at once', async () => {
    const blocker = await a.submit(long(100_000, { requirements: { regions: ['us'] } }));
    await until(blocker.id, (v) => v.state === 'running');
    const { id } = await a.submit({ type: 'noop', params: {}, requirements: { regions: ['us'] } });
    // The worker table learns of the blocker within its next heartbeat.
    const queued = await until(id, (v) => /busy/.test(v.waitingFor ?? ''), 5000);
    expect(queued.state).toBe('queued');
    expect((await a.cancel(id)).state).toBe('cancelled');
    expect((await a.get(id)).state).toBe('cancelled');
    await a.cancel(blocker.id);
    await until(blocker.id, (v) => v.state === 'cancelled');
  });

  it('fails an attempt that runs past its timeout, without retrying it; the job log tells', async () => {
    const { id } = await a.submit(long(100_000, { timeoutSeconds: 1, requirements: { regions: ['us'] } }));
    const v = await until(id, (x) => x.state === 'failed', 10_000);
    expect(v.error).toMatch(/timed out after 1 s/);
    expect(v.attempts).toBe(1);
    const { logs } = await a.logs(id);
    expect(logs[0]).toMatch(/attempt 1 started on worker w1/);
    expect(logs.at(-1)).toMatch(/failed after \d+ ms/);
  });

  it('fails invalid input at once, without retries', async () => {
    // Passes admission (a device class has room) but the kernel's own check refuses it.
    const { id } = await a
      .submit({ type: 'matmul', params: { m: 70_000, n: 70_000, k: 1 }, requirements: { regions: ['eu'] } })
      .catch((e) => {
        // Admission may already catch it; either way it never runs.
        expect(e).toBeInstanceOf(UsineApiError);
        return { id: '' };
      });
    if (id) {
      const v = await until(id, (x) => x.state === 'failed');
      expect(v.attempts).toBe(1);
    }
  });

  it('enforces max running at dispatch (max queued at submit: test/scheduler/admission.test.ts)', async () => {
    const q = as('q');
    const { ids } = await q.submitBatch(Array(3).fill({ type: 'noop', params: { sleepMs: 300 } }));
    const views = await Promise.all(ids.map((id) => q.wait(id, { timeoutMs: 20_000 })));
    expect(views.every((v) => v.state === 'succeeded')).toBe(true);
    // maxRunning 1: the three runs never overlap, though two workers could take them.
    const spans = views.map((v) => [Date.parse(v.startedAt!), Date.parse(v.finishedAt!)]).sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
  });

  it('lists live workers with their adapter, region and capabilities', async () => {
    const { workers } = await admin().workers();
    expect(workers.map((w) => [w.name, w.caps.region])).toEqual([
      ['w0', 'eu'],
      ['w1', 'us'],
    ]);
    expect(workers[0].caps.features).toContain('shader-f16');
    expect(workers[1].caps.features).toEqual([]);
    expect(workers[0].caps.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
  });

  it('reports per-tenant usage', async () => {
    const { id } = await a.submit({ type: 'matmul', params: { m: 64, n: 64, k: 64 } });
    await a.wait(id, { timeoutMs: 20_000 });
    const u = await admin().usage({ since: '1h' });
    const mine = u.tenants.find((t) => t.tenant === 'a')!;
    expect(mine.jobs).toBeGreaterThan(5);
    expect(mine.deviceSeconds).toBeGreaterThan(0);
    expect(mine.flops).toBeGreaterThan(0);
    expect((await a.usage()).tenants.map((t) => t.tenant)).toEqual(['a']);
  });

  it('retries a killed worker’s job on another worker, and waits while no worker matches', async () => {
    // No requirements: either worker may take it; kill whichever does.
    const { id } = await a.submit(long(60));
    const running = await until(id, (v) => v.state === 'running');
    const victim = running.worker === 'w0' ? 0 : 1;
    await cluster.stopWorker(victim, 'SIGKILL');
    const v = await until(id, (x) => x.state === 'succeeded', 60_000);
    expect(v.worker).toBe(victim === 0 ? 'w1' : 'w0');
    // The killed worker's class is known but offline: its jobs wait and say why.
    await new Promise((r) => setTimeout(r, 3500)); // past USINE_WORKER_TIMEOUT_SECONDS
    const region = victim === 0 ? 'eu' : 'us';
    const waiting = await a.submit({ type: 'noop', params: {}, requirements: { regions: [region] } });
    const w = await a.get(waiting.id);
    expect(w.state).toBe('queued');
    expect(w.waitingFor).toMatch(/no online worker matches/);
    await cluster.startWorker(victim);
    expect((await a.wait(waiting.id, { timeoutMs: 20_000 })).state).toBe('succeeded');
  });
});
