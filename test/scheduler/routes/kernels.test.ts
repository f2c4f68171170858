// /v1/kernels/tuning — the real API in process over the tests' Redis: entries written through the
// tuning store (as a worker's tuner writes them), and one tuned for real on this machine's
// adapter, come back per kernel and adapter with the GFLOP/s the scheduler computes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatmulTuner, shapeBucket } from '../../../kernels/autotune/matmul-tuner.ts';
import { TuningStore, redisKey, type TuningEntry } from '../../../kernels/autotune/tuning-store.ts';
import { Matmul } from '../../../kernels/matmul/matmul.ts';
import { configKey, type MatmulConfig } from '../../../kernels/matmul/matmul-program.ts';
import { resolveSpec } from '../../../kernels/matmul/matmul-spec.ts';
import { tuningListSchema, type TuningList } from '../../../shared/kernel-tuning.ts';
import { Api, expectError } from '../../support/api.ts';
import { testDevice } from '../../support/gpu.ts';

// Tuning hashes are not under the API's key prefix (workers of every installation share them by
// adapter): adapters of this run's own keep tests apart.
const tag = `${process.pid}-${Date.now()}`;
const adapter = `test-route-adapter-${tag}`;
const realAdapter = `test-route-real-${tag}`;
const gpu = await testDevice();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-kernels-route-'));

const DIRECT: MatmulConfig = { variant: 'direct', wgX: 8, wgY: 1, rm: 4, rn: 1, cw: 4, tk: 0 };
const TILED: MatmulConfig = { variant: 'tiled', wgX: 8, wgY: 8, rm: 2, rn: 1, cw: 4, tk: 8 };

let api: Api;
beforeAll(async () => {
  api = await Api.start({ tenants: [{ name: 'a' }, { name: 'b' }] });
});
afterAll(async () => {
  await api.ctx.redis.del(redisKey('matmul', adapter), redisKey('matmul', realAdapter));
  await api?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const entry = (m: number, n: number, k: number, ms: number, config: MatmulConfig): TuningEntry<MatmulConfig> => ({
  config,
  ms,
  shape: { m, n, k },
  tunedAt: '2026-11-30T08:00:00.000Z',
  candidates: [{ key: configKey(config), ms }],
});

async function tunings(who: string): Promise<TuningList> {
  const r = await api.as(who).get<TuningList>('/v1/kernels/tuning');
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return tuningListSchema.parse(r.json);
}

describe('/v1/kernels/tuning', () => {
  it("serves the store's entries per kernel and adapter, smallest first, with GFLOP/s from shape and ms", async () => {
    const store = new TuningStore<MatmulConfig>('matmul', adapter, dir, api.ctx.redis);
    await store.put('f32|1024x1024x1024|nn', entry(1000, 1000, 1000, 250, TILED));
    await store.put('f16|256x256x512|nt', entry(200, 256, 512, 0.5, DIRECT));
    // A corrupt entry (the tuner re-tunes it) is left out, not a 500.
    await api.ctx.redis.hset(redisKey('matmul', adapter), 'f32|16x16x16|nn', '{"config":');

    const mine = (await tunings('a')).tunings.filter((t) => t.adapter === adapter);
    expect(mine).toHaveLength(1);
    expect(mine[0].kernel).toBe('matmul');
    expect(mine[0].entries.map((e) => [e.bucket, e.configKey, e.ms, e.gflops])).toEqual([
      // 2·200·256·512 FLOPs in 0.5 ms = 104.8576 GFLOP/s; 2·10⁹ in 250 ms = 8.
      ['f16|256x256x512|nt', configKey(DIRECT), 0.5, 104.858],
      ['f32|1024x1024x1024|nn', configKey(TILED), 250, 8],
    ]);
    expect(mine[0].entries[1]).toMatchObject({
      shape: { m: 1000, n: 1000, k: 1000 },
      config: TILED,
      tunedAt: '2026-11-30T08:00:00.000Z',
      candidates: [{ key: configKey(TILED), ms: 250 }],
    });
    // No tenant data: every tenant sees the same; a caller without a token sees nothing.
    expect((await tunings('b')).tunings.find((t) => t.adapter === adapter)).toEqual(mine[0]);
    expectError(await api.call(null, 'GET', '/v1/kernels/tuning'), 401, 'unauthorized');
  });

  it('serves what a real tuner measured on this adapter', async () => {
    const spec = { m: 48, n: 40, k: 36 };
    const tuner = new MatmulTuner(new Matmul(gpu.device), {
      dir,
      redis: api.ctx.redis,
      space: [DIRECT, TILED],
      adapter: realAdapter,
      repeats: 1,
      onFirstUse: false,
    });
    const chosen = await tuner.ensure(spec);
    const stored = (await tuner.store.get(shapeBucket(resolveSpec(spec))))!;

    const served = (await tunings('a')).tunings.find((t) => t.adapter === realAdapter)!;
    expect(served.entries).toHaveLength(1);
    const [e] = served.entries;
    expect(e).toMatchObject({ bucket: 'f32|64x64x64|nn', configKey: configKey(chosen), ms: stored.ms });
    expect(e.candidates.map((c) => c.key).sort()).toEqual([configKey(DIRECT), configKey(TILED)].sort());
    expect(e.gflops).toBeGreaterThan(0);
    expect(e.gflops).toBeCloseTo((2 * 48 * 40 * 36) / (stored.ms * 1e6), 3);
  });
});
