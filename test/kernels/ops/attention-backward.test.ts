import { describe, expect, it } from 'vitest';
import { AttentionBackward } from '../../../kernels/ops/attention-backward.ts';
import { attentionHeadsRef, dot, finiteDifferences } from '../../../kernels/ops/reference.ts';
import { testDevice } from '../../support/gpu.ts';
import { expectClose, uniform } from './op-check.ts';

const gpu = await testDevice();
const ab = new AttentionBackward(gpu.device);

describe('attention backward (from O and the log-sum-exp) against finite differences', () => {
  // [batch, heads, seqQ, seqK, headDim, causal]: trivial, causal square, non-causal
  // rectangular, causal with more queries than keys (rows that see no key), a longer one.
  const cases = [
    [1, 1, 1, 1, 1, true],
    [2, 3, 5, 5, 4, true],
    [1, 2, 3, 7, 8, false],
    [1, 1, 6, 4, 3, true],
    [2, 2, 17, 17, 16, true],
  ] as const;
  for (const [batch, heads, seqQ, seqK, headDim, causal] of cases) {
    it(`${batch}×${heads} heads, ${seqQ}×${seqK}, head dim ${headDim}, ${causal ? 'causal' : 'full'}`, async () => {
      const s = { batch, heads, seqQ, seqK, headDim };
      const seed = batch * 1000 + seqQ * 10 + headDim;
      const [nq, nk] = [batch * heads * seqQ * headDim, batch * heads * seqK * headDim];
      // Scores up to ±4·√hd·scale: softmax far from uniform.
      const q = uniform(nq, seed, -2, 2);
      const k = uniform(nk, seed + 1, -2, 2);
      const v = uniform(nk, seed + 2);
      const dO = uniform(nq, seed + 3);
      const fwd = attentionHeadsRef(s, q, k, v, causal);
      const got = await ab.run(
        s,
        { q, k, v, o: Float32Array.from(fwd.out), lse: Float32Array.from(fwd.lse), dO },
        { causal },
      );
      const loss = (qq: ArrayLike<number>, kk: ArrayLike<number>, vv: ArrayLike<number>) =>
        dot(dO, attentionHeadsRef(s, qq, kk, vv, causal).out);
      // f32 over ≤ 17 keys of scores ≤ 8: exp(s − lse) to ~1e-6 relative; gradients O(1).
      const tol = { abs: 3e-5, rel: 1e-4 };
      expectClose(
        got.dq,
        finiteDifferences((x) => loss(x, k, v), q),
        tol,
        'dq',
      );
      expectClose(
        got.dk,
        finiteDifferences((x) => loss(q, x, v), k),
        tol,
        'dk',
      );
      expectClose(
        got.dv,
        finiteDifferences((x) => loss(q, k, x), v),
        tol,
        'dv',
      );
    });
  }

  it('is bit-for-bit repeatable', async () => {
    const s = { batch: 1, heads: 2, seqQ: 9, seqK: 9, headDim: 8 };
    const n = 2 * 9 * 8;
    const [q, k, v, dO] = [1, 2, 3, 4].map((i) => uniform(n, i));
    const fwd = attentionHeadsRef(s, q, k, v, true);
    const t = { q, k, v, dO, o: Float32Array.from(fwd.out), lse: Float32Array.from(fwd.lse) };
    const a = await ab.run(s, t);
    const b = await ab.run(s, t);
    expect(a.dq).toEqual(b.dq);
    expect(a.dk).toEqual(b.dk);
  });

  it('refuses bad shapes', async () => {
    const z = new Float32Array(4);
    const t = { q: z, k: z, v: z, o: z, lse: z, dO: z };
    await expect(ab.run({ batch: 1, heads: 1, seqQ: 1, seqK: 1, headDim: 300 }, t)).rejects.toThrow(
      /headDim 300 is over 256/,
    );
    await expect(ab.run({ batch: 1, heads: 1, seqQ: 2, seqK: 1, headDim: 4 }, t)).rejects.toThrow(
      /q holds 16 bytes, needs 32/,
    );
  });
});
