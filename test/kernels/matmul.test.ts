// The matmul kernel against the f64 CPU reference on awkward shapes, every layout, batches,
// epilogues and f16, for the default configs and every config of the tuning space.
//
// Tolerances: inputs are uniform in [-1, 1); f32 accumulation over k terms errs at most about
// k·2⁻²³ relative to the partial sums, so |C - ref| ≤ 2e-6·k + 1e-6. f16: inputs are rounded to
// f16 first (the reference uses the rounded values), accumulation is f32, the output is rounded
// to f16 (relative 2⁻¹¹): |C - ref| ≤ 1e-3·|ref| + 2e-6·k + 1e-3.
import { describe, expect, it } from 'vitest';
import { Matmul, type MatmulSpec } from '../../kernels/matmul/matmul.ts';
import { ShapeError } from '../../kernels/errors.ts';
import {
  HARDWARE_DEFAULT,
  SOFTWARE_DEFAULT,
  SOFTWARE_SUBGROUP_DEFAULT,
  TUNING_SPACE,
  fitsDevice,
} from '../../kernels/matmul/matmul-configs.ts';
import { configKey, type MatmulConfig } from '../../kernels/matmul/matmul-program.ts';
import { roundToHalf } from '../../kernels/f16.ts';
import { operandSizes, resolveSpec } from '../../kernels/matmul/matmul-spec.ts';
import { matmulEntryGeneral, matmulRefGeneral, matmulTolerance } from '../../kernels/reference.ts';
import { randomMatrix } from '../../kernels/random.ts';
import { testDevice } from '../support/gpu.ts';

const gpu = await testDevice();
const { device } = gpu;
const mm = new Matmul(device);
const hasF16 = device.features.has('shader-f16');
const configs = [SOFTWARE_DEFAULT, SOFTWARE_SUBGROUP_DEFAULT, HARDWARE_DEFAULT].filter((c) => fitsDevice(c, device));

let seed = 1;
function inputs(spec: MatmulSpec) {
  const sz = operandSizes(resolveSpec(spec));
  let a = randomMatrix(sz.a, seed++);
  let b = randomMatrix(sz.b, seed++);
  let bias = spec.bias ? randomMatrix(sz.bias, seed++) : undefined;
  if (spec.dtype === 'f16') {
    a = roundToHalf(a);
    b = roundToHalf(b);
    bias = bias && roundToHalf(bias);
  }
  return { a, b, bias };
}

/** Runs `spec` with `config` and checks every entry (or `samples` random ones) of C. */
async function check(spec: MatmulSpec, config?: MatmulConfig, samples?: number) {
  const t0 = performance.now();
  try {
    await checkInner(spec, config, samples);
  } finally {
    if (process.env.MATMUL_TEST_TIMES)
      console.log(
        `${(performance.now() - t0).toFixed(0)} ms ${JSON.stringify(spec)} ${config ? configKey(config) : ''}`,
      );
  }
}

async function checkInner(spec: MatmulSpec, config?: MatmulConfig, samples?: number) {
  const { a, b, bias } = inputs(spec);
  device.pushErrorScope('validation');
  const c = await mm.run(spec, a, b, bias, { config });
  const gpuError = await device.popErrorScope();
  expect(gpuError?.message ?? null).toBeNull();
  const r = resolveSpec(spec);
  expect(c.length).toBe(r.batch * r.m * r.n);
  const bad: string[] = [];
  const at = (idx: number) => {
    const bt = Math.floor(idx / (r.m * r.n));
    const i = Math.floor((idx % (r.m * r.n)) / r.n);
    const j = idx % r.n;
    const ref = matmulEntryGeneral(spec, a, b, bias, bt, i, j);
    if (!(Math.abs(c[idx] - ref) <= matmulTolerance(spec, ref)) && bad.length < 5)
      bad.push(`C[${bt}][${i}][${j}] = ${c[idx]}, expected ${ref}`);
  };
  if (samples) for (let s = 0; s < samples; s++) at(Math.floor((((s * 2654435761) % 2 ** 32) / 2 ** 32) * c.length));
  else {
    const ref = matmulRefGeneral(spec, a, b, bias);
    for (let idx = 0; idx < c.length; idx++) {
      if (!(Math.abs(c[idx] - ref[idx]) <= matmulTolerance(spec, ref[idx])) && bad.length < 5)
        bad.push(`C[${idx}] = ${c[idx]}, expected ${ref[idx]}`);
    }
  }
  expect(bad, `${JSON.stringify(spec)} with ${config ? configKey(config) : 'default'}`).toEqual([]);
}

describe('matmul against the f64 reference (f32)', () => {
  for (const cfg of configs) {
    describe(configKey(cfg), () => {
      for (const [m, n, k] of [
        [1, 1, 1],
        [1, 7, 3],
        [17, 33, 65],
        [127, 1, 255],
        [20, 24, 28], // every operand vec4-aligned
        [33, 64, 16],
      ]) {
        it(`${m}×${n}×${k}`, () => check({ m, n, k }, cfg));
      }
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          it(`transA ${transA}, transB ${transB}, ragged and aligned`, async () => {
            await check({ m: 19, n: 23, k: 37, transA, transB }, cfg);
            await check({ m: 16, n: 20, k: 24, transA, transB }, cfg);
          });
        }
      }
      it('batched, each operand broadcast in turn, with transposes', async () => {
        await check({ m: 9, n: 12, k: 8, batch: 3 }, cfg);
        await check({ m: 9, n: 13, k: 7, batch: 3, broadcastA: true, transB: true }, cfg);
        await check({ m: 10, n: 12, k: 8, batch: 4, broadcastB: true, transA: true }, cfg);
      });
      it('epilogues: bias, relu, gelu', async () => {
        await check({ m: 33, n: 35, k: 17, bias: true }, cfg);
        await check({ m: 32, n: 36, k: 20, activation: 'relu' }, cfg);
        await check({ m: 31, n: 37, k: 23, bias: true, activation: 'gelu' }, cfg);
        await check({ m: 8, n: 16, k: 12, bias: true, activation: 'gelu', batch: 2, transB: true }, cfg);
      });
    });
  }

  it('257×129×1000 (default config, 400 sampled entries)', () => check({ m: 257, n: 129, k: 1000 }, undefined, 400));

  // One pipeline per config (lavapipe compiles each in ~1-3 s unless Mesa's shader cache has
  // it); generous timeout for a busy machine.
  it('every config of the tuning space on a ragged case with everything on', { timeout: 300_000 }, async () => {
    for (const cfg of TUNING_SPACE.filter((c) => fitsDevice(c, device))) {
      await check(
        { m: 37, n: 45, k: 29, transA: true, transB: true, batch: 2, broadcastA: true, bias: true, activation: 'relu' },
        cfg,
      );
    }
  });

  it('never writes outside C', async () => {
    const spec = { m: 13, n: 11, k: 9 };
    for (const config of configs) {
      const { a, b } = inputs(spec);
      const ga = mm.upload(a);
      const gb = mm.upload(b);
      const sentinel = new Float32Array(13 * 11 + 64).fill(777);
      const gc = mm.upload(sentinel);
      const enc = device.createCommandEncoder();
      mm.encode(enc, spec, { a: ga, b: gb, c: gc }, { config });
      device.queue.submit([enc.finish()]);
      const out = await mm.read(gc, sentinel.length);
      expect([...out.subarray(13 * 11)].every((v) => v === 777)).toBe(true);
      expect(out[0]).not.toBe(777);
      for (const buf of [ga, gb, gc]) buf.destroy();
    }
  });
});

describe.runIf(hasF16)('matmul f16 (inputs and outputs f16, f32 accumulation)', () => {
  for (const cfg of configs) {
    it(`${configKey(cfg)}: shapes, transposes, batch, epilogue`, async () => {
      await check({ m: 1, n: 1, k: 1, dtype: 'f16' }, cfg);
      await check({ m: 17, n: 33, k: 65, dtype: 'f16' }, cfg);
      await check({ m: 16, n: 20, k: 24, dtype: 'f16' }, cfg);
      await check({ m: 19, n: 21, k: 23, dtype: 'f16', transA: true, transB: true }, cfg);
      await check(
        { m: 12, n: 16, k: 8, dtype: 'f16', transB: true, batch: 3, broadcastB: true, bias: true, activation: 'gelu' },
        cfg,
      );
    });
  }
});

describe('bad calls are clear ShapeErrors', () => {
  it('zero, negative and fractional dims', async () => {
    await expect(mm.run({ m: 0, n: 1, k: 1 }, new Float32Array(1), new Float32Array(1))).rejects.toThrow(ShapeError);
    expect(() => mm.check({ m: 2, n: -1, k: 2 })).toThrow(/n must be a positive integer/);
    expect(() => mm.check({ m: 2, n: 2, k: 1.5 })).toThrow(/k must be a positive integer/);
    expect(() => mm.check({ m: 2, n: 2, k: 2, batch: 0 })).toThrow(/batch/);
    expect(() => mm.check({ m: 2, n: 2, k: 2, broadcastA: true, broadcastB: true })).toThrow(/broadcast one operand/);
  });
  it('host arrays and GPU buffers too small', async () => {
    await expect(mm.run({ m: 2, n: 2, k: 2 }, new Float32Array(3), new Float32Array(4))).rejects.toThrow(
      /A has 3 elements/,
    );
    await expect(mm.run({ m: 2, n: 2, k: 2, batch: 2 }, new Float32Array(8), new Float32Array(4))).rejects.toThrow(
      /B has 4 elements/,
    );
    await expect(mm.run({ m: 2, n: 2, k: 2, bias: true }, new Float32Array(4), new Float32Array(4))).rejects.toThrow(
      /bias/,
    );
    const small = mm.output(4);
    const big = mm.output(1024);
    const enc = device.createCommandEncoder();
    expect(() => mm.encode(enc, { m: 16, n: 16, k: 16 }, { a: small, b: big, c: big })).toThrow(
      /buffer a has 16 bytes, needs 1024/,
    );
    expect(() => mm.encode(enc, { m: 4, n: 4, k: 4, bias: true }, { a: big, b: big, c: big })).toThrow(
      /buffer bias is missing/,
    );
    enc.finish();
    small.destroy();
    big.destroy();
  });
  it('sizes past the device limits', () => {
    expect(() => mm.check({ m: 1 << 20, n: 1 << 20, k: 1 })).toThrow(/maxStorageBufferBindingSize/);
    expect(() => mm.check({ m: 1, n: 1, k: 1, batch: device.limits.maxComputeWorkgroupsPerDimension + 1 })).toThrow(
      /workgroups/,
    );
  });
});
