import { describe, expect, it } from 'vitest';
import { Gelu } from '../../../kernels/ops/gelu.ts';
import { ResidualAdd } from '../../../kernels/ops/residual-add.ts';
import { addRef, dot, finiteDifferences, geluRef } from '../../../kernels/ops/reference.ts';
import { ShapeError } from '../../../kernels/errors.ts';
import { testDevice } from '../../support/gpu.ts';
import { expectClose, uniform } from './op-check.ts';

const gpu = await testDevice();

describe('GELU (tanh approximation)', () => {
  const gelu = new Gelu(gpu.device);
  // Awkward sizes: 1, below one workgroup, just over one, many; values cover the tails too.
  for (const n of [1, 63, 65, 1000]) {
    it(`forward on ${n} values matches the f64 reference`, async () => {
      const x = uniform(n, n, -6, 6);
      // f32 tanh/exp: a few ulps of values of magnitude ≤ 6.
      expectClose(await gelu.runForward(x), geluRef(x), { abs: 2e-6, rel: 2e-6 }, 'y');
    });
    it(`backward on ${n} values matches finite differences of the f64 reference`, async () => {
      const x = uniform(n, n + 1, -6, 6);
      const dy = uniform(n, n + 2);
      // Element-wise op: ∂(Σ dy·gelu(x))/∂x_i = dy_i·gelu'(x_i).
      const fd = finiteDifferences((xs) => dot(dy, geluRef(xs)), x, 1e-6);
      expectClose(await gelu.runBackward(x, dy), fd, { abs: 1e-5, rel: 1e-5 }, 'dx');
    });
  }
  it('stays finite for huge inputs', async () => {
    const x = new Float32Array([-1e30, -100, 100, 1e30]);
    const y = await gelu.runForward(x);
    expect([...y]).toEqual([-0, -0, 100, 1e30].map((v) => Math.fround(v)));
    const dx = await gelu.runBackward(x, new Float32Array([1, 1, 1, 1]));
    expect([...dx].every(Number.isFinite)).toBe(true);
  });
  it('refuses mismatched buffers', async () => {
    await expect(gelu.runBackward(new Float32Array(8), new Float32Array(4))).rejects.toThrow(
      /dy holds 16 bytes, needs 32/,
    );
    await expect(gelu.runForward(new Float32Array(0))).rejects.toThrow(ShapeError);
  });
});

describe('residual add', () => {
  const add = new ResidualAdd(gpu.device);
  it('y = a + b and a += b match the reference exactly (one f32 rounding)', async () => {
    for (const n of [1, 77, 4099]) {
      const a = uniform(n, 3 * n);
      const b = uniform(n, 3 * n + 1);
      const ref = Float32Array.from(addRef(a, b));
      expect(await add.runAdd(a, b)).toEqual(ref);
      expect(await add.runAccumulate(a, b)).toEqual(ref);
    }
  });
  it('refuses short buffers', async () => {
    await expect(add.runAdd(new Float32Array(5), new Float32Array(4))).rejects.toThrow(/b holds 16 bytes/);
  });
});
