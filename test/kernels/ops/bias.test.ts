import { describe, expect, it } from 'vitest';
import { Bias } from '../../../kernels/ops/bias.ts';
import { addBiasRef, dot, finiteDifferences } from '../../../kernels/ops/reference.ts';
import { testDevice } from '../../support/gpu.ts';
import { expectClose, uniform } from './op-check.ts';

const gpu = await testDevice();
const bias = new Bias(gpu.device);

describe('linear-layer bias', () => {
  for (const [rows, cols] of [
    [1, 1],
    [7, 3],
    [100, 65],
  ]) {
    const x = uniform(rows * cols, rows + cols);
    const b = uniform(cols, cols);
    const dy = uniform(rows * cols, 3 * rows);
    it(`${rows}×${cols}: forward is exact, backward matches finite differences`, async () => {
      expect(await bias.runAdd({ rows, cols }, x, b)).toEqual(Float32Array.from(addBiasRef(x, b, cols)));
      const fd = finiteDifferences((bb) => dot(dy, addBiasRef(x, bb, cols)), b);
      // A sum of `rows` f32 values of magnitude ≤ 1.
      expectClose(await bias.runGrad({ rows, cols }, dy), fd, { abs: 1e-6 * rows }, 'db');
    });
  }
  it('refuses short buffers', async () => {
    await expect(bias.runAdd({ rows: 2, cols: 3 }, new Float32Array(6), new Float32Array(2))).rejects.toThrow(
      /bias holds 8 bytes, needs 12/,
    );
  });
});
