import { describe, expect, it } from 'vitest';
import { AdamW } from '../../../kernels/ops/adamw.ts';
import { DEFAULT_ADAMW } from '../../../kernels/ops/limits.ts';
import { GradNorm } from '../../../kernels/ops/grad-norm.ts';
import { ArrayRun } from '../../../kernels/ops/op-kernel.ts';
import { adamwRef, gradNormRef } from '../../../kernels/ops/reference.ts';
import { testDevice } from '../../support/gpu.ts';
import { expectClose, uniform } from './op-check.ts';

const gpu = await testDevice();
const norm = new GradNorm(gpu.device);

describe('gradient global norm and clipping', () => {
  // Sizes around the 2,048-value block: 1, one under, one over, several blocks.
  const grads = [1, 2047, 2049, 9000].map((n, i) => uniform(n, 40 + i, -3, 3));
  const ref = gradNormRef(grads);

  it('norm over several buffers matches f64', async () => {
    const got = await norm.run(grads);
    // f32 sum of 13k squares: ~1e-6 relative.
    expect(Math.abs(got.norm - ref.norm)).toBeLessThanOrEqual(2e-6 * ref.norm);
    expect(Math.abs(got.sumSquares - ref.norm ** 2)).toBeLessThanOrEqual(4e-6 * ref.norm ** 2);
    expect(got.scale).toBe(1);
    grads.forEach((g, i) => expect(got.clipped[i]).toEqual(g));
  });

  it('clips to maxNorm on the device', async () => {
    const maxNorm = ref.norm / 7;
    const got = await norm.run(grads, maxNorm);
    const want = gradNormRef(grads, maxNorm);
    expect(Math.abs(got.scale - want.scale)).toBeLessThanOrEqual(2e-6 * want.scale);
    grads.forEach((g, i) =>
      expectClose(
        got.clipped[i],
        Array.from(g, (x) => x * want.scale),
        { abs: 1e-6, rel: 4e-6 },
        `clipped[${i}]`,
      ),
    );
    const after = gradNormRef(got.clipped);
    expect(Math.abs(after.norm - maxNorm)).toBeLessThanOrEqual(1e-5 * maxNorm);
  });

  it('is bit-for-bit repeatable', async () => {
    const a = await norm.run(grads);
    const b = await norm.run(grads);
    expect(a.sumSquares).toBe(b.sumSquares);
  });

  it('refuses bad input', async () => {
    await expect(norm.run([])).rejects.toThrow(/no gradient buffers/);
    await expect(norm.run([new Float32Array(3)], 0)).rejects.toThrow(/maxNorm must be positive/);
  });
});

describe('AdamW against the f64 reference', () => {
  const adam = new AdamW(gpu.device, { ...DEFAULT_ADAMW, weightDecay: 0.1 });

  for (const [n, decay, clipScale] of [
    [1, true, undefined],
    [77, false, undefined],
    [1025, true, 0.37],
  ] as const) {
    it(`${n} values, decay ${decay}, clip scale ${clipScale ?? 'none'}: five steps track the reference`, async () => {
      let p: Float32Array = uniform(n, n);
      let m: Float32Array = new Float32Array(n);
      let v: Float32Array = new Float32Array(n);
      let rp: ArrayLike<number> = p;
      let rm: ArrayLike<number> = m;
      let rv: ArrayLike<number> = v;
      for (let step = 1; step <= 5; step++) {
        const g = uniform(n, 100 * step + n, -2, 2);
        const lr = 0.01 / step;
        ({ p, m, v } = await adam.run(step, lr, p, g, m, v, { decay, clipScale }));
        const ref = adamwRef(
          rp,
          g,
          rm,
          rv,
          { ...adam.settings, lr, step, weightDecay: decay ? 0.1 : 0 },
          clipScale ?? 1,
        );
        // The GPU carries its f32 state forward; compare each step from the same state.
        // Update per step ≈ lr; f32 error a few ulps of the moments: 1e-6 relative.
        expectClose(p, ref.p, { abs: 1e-6, rel: 1e-6 }, `p at step ${step}`);
        expectClose(m, ref.m, { abs: 1e-7, rel: 1e-6 }, `m at step ${step}`);
        expectClose(v, ref.v, { abs: 1e-8, rel: 1e-5 }, `v at step ${step}`);
        [rp, rm, rv] = [p, m, v];
      }
    });
  }

  it('reads the clip scale GradNorm left on the device (no read-back)', async () => {
    const n = 300;
    const g = uniform(n, 5, -4, 4);
    const p0 = uniform(n, 6);
    const run = new ArrayRun(gpu.device);
    const [gp, gg, gm, gv] = [p0, g, new Float32Array(n), new Float32Array(n)].map((a) => run.upload(a));
    const result = run.output(4);
    const maxNorm = 1;
    norm.norm(run.encoder, [{ buffer: gg, n }], result, maxNorm);
    adam.setStep(1, 0.1);
    adam.update(run.encoder, n, { param: gp, grad: gg, m: gm, v: gv, clip: result });
    const [p1, m1] = await run.finish([
      { buffer: gp, elements: n },
      { buffer: gm, elements: n },
    ]);
    const { scale } = gradNormRef([g], maxNorm);
    expect(scale).toBeLessThan(0.1);
    const ref = adamwRef(
      p0,
      g,
      new Float32Array(n),
      new Float32Array(n),
      { ...adam.settings, lr: 0.1, step: 1 },
      scale,
    );
    expectClose(m1, ref.m, { abs: 1e-7, rel: 1e-5 }, 'm');
    expectClose(p1, ref.p, { abs: 1e-6, rel: 1e-5 }, 'p');
  });

  it('refuses bad settings and shapes', async () => {
    expect(() => new AdamW(gpu.device, { ...DEFAULT_ADAMW, beta1: 1 })).toThrow(/betas must be in \[0, 1\)/);
    expect(() => adam.setStep(0, 0.1)).toThrow(/step must be a positive integer/);
    const a = new Float32Array(4);
    await expect(adam.run(1, 0.1, a, new Float32Array(3), a, a)).rejects.toThrow(/grad holds 12 bytes, needs 16/);
  });
});
