import { describe, expect, it } from 'vitest';
import { SampleTokens } from '../../../kernels/ops/sample-tokens.ts';
import { seededRandom } from '../../../kernels/random.ts';
import { testDevice } from '../../support/gpu.ts';
import { uniform } from './op-check.ts';

const gpu = await testDevice();
const sampler = new SampleTokens(gpu.device);

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
  return best;
}

describe('token sampling', () => {
  it('greedy picks the argmax (lowest index on ties)', async () => {
    for (const [rows, vocab] of [
      [1, 1],
      [5, 13],
      [130, 7],
    ]) {
      const logits = uniform(rows * vocab, rows * vocab, -5, 5);
      const ids = await sampler.run({ rows, vocab }, logits);
      for (let r = 0; r < rows; r++) expect(ids[r]).toBe(argmax(logits.subarray(r * vocab, r * vocab + vocab)));
    }
    expect([...(await sampler.run({ rows: 1, vocab: 4 }, new Float32Array([1, 3, 3, 2])))]).toEqual([1]);
  });

  it('temperature sampling inverts the softmax CDF at the given uniform', async () => {
    const vocab = 6;
    const rows = 400;
    const row = new Float32Array([0, 1, 2, -1, 0.5, 1.5]);
    const logits = new Float32Array(rows * vocab);
    for (let r = 0; r < rows; r++) logits.set(row, r * vocab);
    const rnd = seededRandom(8);
    const us = Float32Array.from({ length: rows }, () => rnd());
    const T = 0.7;
    const ids = await sampler.run({ rows, vocab }, logits, T, us);
    const w = Array.from(row, (l) => Math.exp((l - 2) / T));
    const z = w.reduce((a, b) => a + b);
    const cdf = w.map((_, i) => w.slice(0, i + 1).reduce((a, b) => a + b) / z);
    for (let r = 0; r < rows; r++) {
      // The pick is the first v with cdf[v] > u (away from boundaries by f32 rounding).
      const want = cdf.findIndex((c) => c > us[r]);
      if (Math.min(...cdf.map((c) => Math.abs(c - us[r]))) > 1e-5) expect(ids[r]).toBe(want);
    }
    // Same uniforms, same tokens; and the frequencies follow the softmax.
    expect(await sampler.run({ rows, vocab }, logits, T, us)).toEqual(ids);
    const freq2 = ids.filter((i) => i === 2).length / rows;
    expect(Math.abs(freq2 - w[2] / z)).toBeLessThan(0.08);
  });

  it('refuses bad arguments', async () => {
    await expect(sampler.run({ rows: 2, vocab: 3 }, new Float32Array(6), 1)).rejects.toThrow(
      /needs one uniform number per row/,
    );
    await expect(sampler.run({ rows: 2, vocab: 3 }, new Float32Array(5))).rejects.toThrow(
      /logits holds 20 bytes, needs 24/,
    );
    await expect(sampler.run({ rows: 2, vocab: 3 }, new Float32Array(6), -1)).rejects.toThrow(
      /temperature must be finite/,
    );
  });
});
