import { describe, expect, it } from 'vitest';
import { CrossEntropy } from '../../../kernels/ops/cross-entropy.ts';
import { crossEntropyRef, finiteDifferences } from '../../../kernels/ops/reference.ts';
import { testDevice } from '../../support/gpu.ts';
import { expectClose, integers, uniform } from './op-check.ts';

const gpu = await testDevice();
const ce = new CrossEntropy(gpu.device);

/** Targets in [0, vocab) with every `maskEvery`-th row ignored (−1). */
function targetsFor(rows: number, vocab: number, seed: number, maskEvery = 0): Int32Array {
  const t = integers(rows, vocab, seed);
  if (maskEvery) for (let r = 0; r < rows; r += maskEvery) t[r] = -1;
  return t;
}

describe('softmax cross-entropy against the f64 reference', () => {
  // [rows, vocab, mask every k-th row]: one row, a vocabulary of 1, more rows than the
  // reducing workgroup (300 > 256), masked rows.
  for (const [rows, vocab, maskEvery] of [
    [1, 1, 0],
    [1, 5, 0],
    [7, 13, 3],
    [300, 17, 2],
    [9, 130, 4],
  ]) {
    it(`${rows} rows × vocab ${vocab}${maskEvery ? `, every ${maskEvery}th row masked` : ''}`, async () => {
      // Large logits (±20) test the max-subtraction.
      const logits = uniform(rows * vocab, rows + vocab, -20, 20);
      const targets = targetsFor(rows, vocab, rows * 3 + 1, maskEvery);
      const got = await ce.run({ rows, vocab }, logits, targets);
      const ref = crossEntropyRef(logits, targets, vocab);
      expect(got.count).toBe(ref.count);
      // Per-row log-sum-exp in f32 over ≤ 130 terms of magnitude ≤ 40: ~1e-5 relative.
      expect(Math.abs(got.loss - ref.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, ref.loss));
      const fd = finiteDifferences((l) => crossEntropyRef(l, targets, vocab).loss, logits, 1e-6);
      // Gradients are ≤ 1/count in magnitude; exp in f32 gives ~1e-6 relative of the softmax.
      expectClose(got.dlogits, fd, { abs: 2e-6 / Math.max(1, ref.count) + 1e-8, rel: 1e-4 }, 'dlogits');
    });
  }

  it('all rows masked: loss 0, count 0, zero gradient', async () => {
    const got = await ce.run({ rows: 3, vocab: 4 }, uniform(12, 1), new Int32Array([-1, -1, -1]));
    expect(got.loss).toBe(0);
    expect(got.count).toBe(0);
    expect([...got.dlogits].every((g) => g === 0)).toBe(true);
  });

  it('is bit-for-bit repeatable', async () => {
    const logits = uniform(1000 * 7, 5);
    const targets = targetsFor(1000, 7, 6);
    const a = await ce.run({ rows: 1000, vocab: 7 }, logits, targets);
    const b = await ce.run({ rows: 1000, vocab: 7 }, logits, targets);
    expect(a.loss).toBe(b.loss);
    expect(a.dlogits).toEqual(b.dlogits);
  });

  it('refuses bad shapes', async () => {
    await expect(ce.run({ rows: 2, vocab: 3 }, new Float32Array(5), new Int32Array(2))).rejects.toThrow(
      /logits holds 20 bytes, needs 24/,
    );
    await expect(ce.run({ rows: 2, vocab: 0 }, new Float32Array(5), new Int32Array(2))).rejects.toThrow(
      /vocab must be a positive integer/,
    );
  });
});
