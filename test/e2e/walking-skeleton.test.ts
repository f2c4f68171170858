// The whole path, with real parts: CLI/client → scheduler (HTTP) → Redis/BullMQ →
// WebGPU worker (lavapipe) → result → /metrics on both processes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsineClient, UsineApiError, type JobSpecInput } from '../../client/client.ts';
import type { JobView, MatmulResult } from '../../shared/job-view.ts';
import { runCli } from '../support/processes.ts';
import { Cluster } from '../support/cluster.ts';
import { matmulRef } from '../../kernels/reference.ts';
import { randomMatrix } from '../../kernels/random.ts';

const API_PORT = 8780; // and the worker's /metrics on 8781
const cluster = new Cluster({ port: API_PORT, workers: [{ USINE_WORKER_NAME: 'e2e-worker' }] });
const url = cluster.url;
const client = new UsineClient({ url });

beforeAll(async () => {
  await cluster.start();
});
afterAll(async () => {
  await cluster.stop();
});

async function metrics(at: string): Promise<string> {
  return (await fetch(at)).text();
}
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : NaN;
}

describe('walking skeleton', () => {
  it('runs a matmul job through the client library and reports a checked result', async () => {
    const seen: JobView['state'][] = [];
    // Enough repeats that the running state is visible to a 50 ms poll.
    const { id, state } = await client.submit({ type: 'matmul', params: { m: 192, n: 160, k: 130, repeats: 30 } });
    expect(state).toBe('queued');
    const v = await client.wait(id, {
      intervalMs: 50,
      timeoutMs: 60_000,
      onUpdate: (u) => seen.at(-1) !== u.state && seen.push(u.state),
    });
    expect(v.state).toBe('succeeded');
    expect(seen).toContain('running');
    expect(seen.indexOf('running')).toBeLessThan(seen.indexOf('succeeded'));
    expect(v.worker).toBe('e2e-worker');
    expect(Date.parse(v.startedAt!)).toBeGreaterThanOrEqual(Date.parse(v.createdAt));
    expect(Date.parse(v.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(v.startedAt!));
    const r = v.result as MatmulResult;
    expect([r.m, r.n, r.k]).toEqual([192, 160, 130]);
    expect(r.adapter).toMatch(/llvmpipe|vulkan|metal|d3d12/i);
    expect(r.check.passed).toBe(true);
    expect(r.check.samples).toBe(64);
    expect(r.check.maxAbsError).toBeLessThanOrEqual(r.check.tolerance);
    expect(r.gflops).toBeGreaterThan(0);
    expect(r.ms).toBeGreaterThan(0);
    expect(Number.isFinite(r.checksum)).toBe(true);
  });

  it('gives the same checksum for the same seed and a different one for another seed', async () => {
    const run = async (seed: number) => {
      const { id } = await client.submit({ type: 'matmul', params: { m: 33, n: 17, k: 9, seed } });
      const v = await client.wait(id, { timeoutMs: 30_000 });
      expect(v.state, JSON.stringify(v)).toBe('succeeded');
      return (v.result as MatmulResult).checksum;
    };
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('runs a job from the CLI and prints the result', async () => {
    const r = await runCli(['--url', url, 'submit', 'matmul', '--m', '64', '--n', '64', '--k', '64', '--wait']);
    expect(r.stderr + r.stdout).toMatch(/succeeded/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/matmul 64×64×64: [\d.]+ ms, [\d.]+ GFLOP\/s/);
    expect(r.stdout).toMatch(/check: 64 sampled entries vs CPU reference.*passed/);
    const id = /job (\S+) \(matmul, tenant default\)/.exec(r.stdout)![1];
    const s = await runCli(['--url', url, 'status', id, '--json']);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({ id, state: 'succeeded', type: 'matmul' });
  });

  // The API's refusals themselves (status, code, details) are tested in process: test/scheduler/routes/jobs.test.ts.
  it('refuses a bad spec through the client and the CLI, naming the field, and an unknown id with 404', async () => {
    await expect(client.submit({ type: 'nope', params: {} } as unknown as JobSpecInput)).rejects.toMatchObject({
      status: 400,
    });
    await expect(client.get('does-not-exist')).rejects.toBeInstanceOf(UsineApiError);
    await expect(client.get('does-not-exist')).rejects.toMatchObject({ status: 404 });
    const cli = await runCli(['--url', url, 'submit', 'matmul', '--m', '-3', '--n', '1', '--k', '1']);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(/params\.m/);
  });

  it('keeps a large output as an artifact that downloads byte for byte', async () => {
    const [m, n, k] = [37, 29, 11];
    const { id } = await client.submit({ type: 'matmul', params: { m, n, k, seed: 5, saveOutput: true } });
    const v = await client.wait(id, { timeoutMs: 30_000 });
    const r = v.result as MatmulResult;
    expect(r.output?.bytes).toBe(m * n * 4);
    const bytes = await client.download(r.output!.artifact);
    const c = new Float32Array(bytes.buffer, bytes.byteOffset, m * n);
    const ref = matmulRef(randomMatrix(m * k, 5), randomMatrix(k * n, 6), m, n, k);
    for (let i = 0; i < m * n; i++) expect(Math.abs(c[i] - ref[i])).toBeLessThanOrEqual(1e-5);
    expect((await client.jobArtifacts(id)).artifacts.map((a) => a.id)).toEqual([r.output!.artifact]);
    // Uploads round-trip too.
    const text = new TextEncoder().encode('to be or not to be\n');
    const up = await client.upload('hamlet.txt', text);
    expect(up).toMatchObject({ name: 'hamlet.txt', bytes: text.length, kind: 'upload', tenant: 'default' });
    expect(new TextDecoder().decode(await client.download(up.id))).toBe('to be or not to be\n');
    await expect(client.download('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ status: 404 });
  });

  it('exports job counters on the scheduler and worker /metrics', async () => {
    const s = await metrics(cluster.metricsUrl);
    const w = await metrics(cluster.workerMetricsUrl(0));
    // 6 jobs succeeded above (1 + 3 + 1 from the CLI + 1 with an artifact).
    expect(sample(s, 'usine_jobs_submitted_total{tenant="default",type="matmul"}')).toBe(6);
    expect(sample(s, 'usine_jobs_finished_total{tenant="default",type="matmul",outcome="succeeded"}')).toBe(6);
    expect(s).toMatch(/^usine_job_run_seconds_count\{tenant="default",type="matmul"\} 6$/m);
    expect(s).toMatch(/^bullmq_job_count\{queue="t.default.any", ?state="completed"\} 6$/m);
    expect(sample(w, 'usine_worker_jobs_finished_total{type="matmul",outcome="succeeded"}')).toBe(6);
    // FLOPs: 30 repeats of 2·192·160·130, plus 3 × 2·33·17·9, plus 2·64³, plus 2·37·29·11.
    expect(sample(w, 'usine_worker_flops_total{kernel="matmul",dtype="f32"}')).toBe(
      30 * 2 * 192 * 160 * 130 + 3 * 2 * 33 * 17 * 9 + 2 * 64 ** 3 + 2 * 37 * 29 * 11,
    );
    expect(w).toMatch(
      /^usine_worker_adapter_info\{vendor="[^"]+",architecture="[^"]+",device="[^"]+",backend="[^"]+"\} 1$/m,
    );
  });
});
