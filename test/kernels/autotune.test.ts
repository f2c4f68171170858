// The matmul autotuner with a real Redis and a real folder: tunes a tiny space once, writes the
// file and the Redis hash, and later tuners (other "workers") reuse the result without tuning.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connectRedis } from '../../shared/redis.ts';
import { Matmul } from '../../kernels/matmul/matmul.ts';
import { MatmulTuner, shapeBucket } from '../../kernels/autotune/matmul-tuner.ts';
import { redisKey } from '../../kernels/autotune/tuning-store.ts';
import { resolveSpec } from '../../kernels/matmul/matmul-spec.ts';
import { configKey, type MatmulConfig } from '../../kernels/matmul/matmul-program.ts';
import { matmulRef } from '../../kernels/reference.ts';
import { randomMatrix } from '../../kernels/random.ts';
import { testDevice } from '../support/gpu.ts';

const gpu = await testDevice();
const redis = connectRedis(inject('redisUrl'));
const adapter = `test-adapter-${process.pid}-${Date.now()}`;
const dirs: string[] = [];
const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-tuning-'));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  await redis.del(redisKey('matmul', adapter));
  redis.disconnect();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const space: MatmulConfig[] = [
  { variant: 'direct', wgX: 8, wgY: 1, rm: 4, rn: 1, cw: 4, tk: 0 },
  { variant: 'tiled', wgX: 8, wgY: 8, rm: 2, rn: 1, cw: 4, tk: 8 },
];
const spec = { m: 48, n: 40, k: 36 };
const bucket = shapeBucket(resolveSpec(spec));

describe('matmul autotuner', () => {
  it('tunes on first use, then writes the file and the Redis hash', async () => {
    const dir = tmpDir();
    const mm = new Matmul(gpu.device);
    const tuner = new MatmulTuner(mm, { dir, redis, space, adapter, repeats: 1 });
    await tuner.load();
    expect(mm.mayTune(spec)).toBe(true);
    const a = randomMatrix(spec.m * spec.k, 1);
    const b = randomMatrix(spec.k * spec.n, 2);
    const c = await mm.run(spec, a, b); // first use: tunes this bucket
    expect(tuner.tunings).toBe(1);
    expect(mm.mayTune(spec)).toBe(false);
    const ref = matmulRef(a, b, spec.m, spec.n, spec.k);
    expect(Math.max(...c.map((v, i) => Math.abs(v - ref[i])))).toBeLessThan(1e-4);

    const file = JSON.parse(fs.readFileSync(path.join(dir, `matmul-${adapter}.json`), 'utf8'));
    expect(file.adapter).toBe(adapter);
    const entry = file.entries[bucket];
    expect(space.map(configKey)).toContain(configKey(entry.config));
    expect(entry.candidates).toHaveLength(space.length);
    expect(entry.ms).toBeGreaterThan(0);
    // The Matmul now runs the winner for this bucket.
    expect(configKey(mm.configFor(spec))).toBe(configKey(entry.config));

    const shared = JSON.parse((await redis.hget(redisKey('matmul', adapter), bucket))!);
    expect(shared.config).toEqual(entry.config);

    // Same tuner, same bucket (another shape in it): no new tuning.
    await mm.run({ m: 40, n: 33, k: 60 }, randomMatrix(40 * 60, 3), randomMatrix(60 * 33, 4));
    expect(tuner.tunings).toBe(1);
  });

  it('a second worker with the same adapter reuses the result through Redis, another through the file', async () => {
    const winner = JSON.parse((await redis.hget(redisKey('matmul', adapter), bucket))!).config;
    // Fresh folder: only Redis knows.
    const viaRedis = new MatmulTuner(new Matmul(gpu.device), { dir: tmpDir(), redis, space, adapter });
    expect(await viaRedis.ensure(spec)).toEqual(winner);
    expect(viaRedis.tunings).toBe(0);
    // No Redis: the file of the first test's folder knows.
    const firstDir = dirs[0];
    const viaFile = new MatmulTuner(new Matmul(gpu.device), { dir: firstDir, space, adapter });
    await viaFile.load();
    expect(configKey(viaFile.matmul.configFor(spec))).toBe(configKey(winner));
    expect(await viaFile.ensure(spec)).toEqual(winner);
    expect(viaFile.tunings).toBe(0);
    // A different adapter does not see it.
    const other = new MatmulTuner(new Matmul(gpu.device), {
      dir: tmpDir(),
      redis,
      space,
      adapter: `${adapter}-other`,
      repeats: 1,
    });
    await other.ensure(spec);
    expect(other.tunings).toBe(1);
    await redis.del(redisKey('matmul', `${adapter}-other`));
  });
});
