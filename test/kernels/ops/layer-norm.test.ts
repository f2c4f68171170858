import { describe, expect, it } from 'vitest';
import { LayerNorm } from '../../../kernels/ops/layer-norm.ts';
import { dot, finiteDifferences, layerNormRef } from '../../../kernels/ops/reference.ts';
import { testDevice } from '../../support/gpu.ts';
import { expectClose, uniform } from './op-check.ts';

const gpu = await testDevice();
const ln = new LayerNorm(gpu.device);

describe('LayerNorm against the f64 reference', () => {
  // Awkward shapes: a single row, widths that are not multiples of 4 or of the workgroup.
  for (const [rows, dim] of [
    [1, 5],
    [3, 7],
    [65, 33],
    [5, 130],
  ]) {
    const x = uniform(rows * dim, rows * 100 + dim, -2, 3);
    const gamma = uniform(dim, dim + 1, 0.5, 1.5);
    const beta = uniform(dim, dim + 2);
    const dy = uniform(rows * dim, dim + 3);
    const s = { rows, dim };

    it(`forward ${rows}×${dim} (y, mean, rstd)`, async () => {
      const got = await ln.runForward(s, x, gamma, beta);
      const ref = layerNormRef(x, gamma, beta, dim);
      // f32 sums over `dim` values of magnitude ≤ 3, normalised: a few 1e-6 relative.
      expectClose(got.y, ref.y, { abs: 1e-5, rel: 1e-5 }, 'y');
      expectClose(got.mean, ref.mean, { abs: 1e-6, rel: 1e-5 }, 'mean');
      expectClose(got.rstd, ref.rstd, { abs: 1e-6, rel: 1e-5 }, 'rstd');
    });

    it(`backward ${rows}×${dim} matches finite differences (dx, dgamma, dbeta)`, async () => {
      const got = await ln.runBackward(s, x, gamma, beta, dy);
      const loss = (xs: ArrayLike<number>, g: ArrayLike<number>, b: ArrayLike<number>) =>
        dot(dy, layerNormRef(xs, g, b, dim).y);
      const fdx = finiteDifferences((v) => loss(v, gamma, beta), x);
      const fdg = finiteDifferences((v) => loss(x, v, beta), gamma);
      const fdb = finiteDifferences((v) => loss(x, gamma, v), beta);
      // dx is a difference of O(1) terms: 2e-5 absolute; dgamma/dbeta sum `rows` terms.
      expectClose(got.dx, fdx, { abs: 2e-5, rel: 1e-4 }, 'dx');
      expectClose(got.dgamma, fdg, { abs: 2e-5 * rows, rel: 1e-4 }, 'dgamma');
      expectClose(got.dbeta, fdb, { abs: 2e-5 * rows, rel: 1e-4 }, 'dbeta');
    });
  }

  it('is bit-for-bit repeatable', async () => {
    const s = { rows: 17, dim: 19 };
    const args = [uniform(17 * 19, 1), uniform(19, 2), uniform(19, 3), uniform(17 * 19, 4)] as const;
    const a = await ln.runBackward(s, ...args);
    const b = await ln.runBackward(s, ...args);
    expect(a.dx).toEqual(b.dx);
    expect(a.dgamma).toEqual(b.dgamma);
  });

  it('refuses bad shapes and short buffers', async () => {
    await expect(
      ln.runForward({ rows: 0, dim: 4 }, new Float32Array(4), new Float32Array(4), new Float32Array(4)),
    ).rejects.toThrow(/rows must be a positive integer/);
    await expect(
      ln.runForward({ rows: 2, dim: 4 }, new Float32Array(8), new Float32Array(3), new Float32Array(4)),
    ).rejects.toThrow(/gamma holds 12 bytes, needs 16/);
    await expect(
      ln.runForward({ rows: 2, dim: 4, eps: 0 }, new Float32Array(8), new Float32Array(4), new Float32Array(4)),
    ).rejects.toThrow(/eps must be positive/);
  });
});
