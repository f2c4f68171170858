import { describe, expect, it } from 'vitest';
import { Matmul } from '../../kernels/matmul/matmul.ts';
import { ShapeError } from '../../kernels/errors.ts';
import { matmulRef } from '../../kernels/reference.ts';
import { randomMatrix } from '../../kernels/random.ts';
import { testDevice } from '../support/gpu.ts';

const gpu = await testDevice();
const mm = new Matmul(gpu.device);

describe('tiled matmul (f32) against the CPU reference', () => {
  // Ragged shapes: none is a multiple of the 64×64×16 tile.
  for (const [m, n, k] of [
    [1, 1, 1],
    [1, 7, 3],
    [17, 33, 65],
    [127, 1, 255],
    [65, 130, 17],
  ]) {
    it(`${m}×${n}×${k}`, async () => {
      const a = randomMatrix(m * k, m + 1);
      const b = randomMatrix(k * n, n + 2);
      const c = await mm.run({ m, n, k }, a, b);
      const ref = matmulRef(a, b, m, n, k);
      expect(c.length).toBe(m * n);
      // f32 accumulation over k terms of magnitude ≤ 1: error grows at most ~k·ε.
      const tol = 1e-6 * k + 1e-6;
      for (let i = 0; i < m * n; i++) expect(Math.abs(c[i] - ref[i])).toBeLessThanOrEqual(tol);
    });
  }

  it('refuses bad shapes with a clear error', async () => {
    await expect(mm.run({ m: 0, n: 1, k: 1 }, new Float32Array(1), new Float32Array(1))).rejects.toThrow(ShapeError);
    await expect(mm.run({ m: 2, n: 2, k: 2 }, new Float32Array(3), new Float32Array(4))).rejects.toThrow(
      /A has 3 elements/,
    );
    expect(() => mm.check({ m: 1 << 20, n: 1 << 20, k: 1 })).toThrow(/maxStorageBufferBindingSize/);
  });
});
