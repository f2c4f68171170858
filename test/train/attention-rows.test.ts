import { describe, expect, it } from 'vitest';
import { AttentionRows } from '../../kernels/ops/attention-rows.ts';
import { Transpose } from '../../kernels/ops/transpose.ts';
import { attentionHeadsRef } from '../../kernels/ops/reference.ts';
import { testDevice } from '../support/gpu.ts';
import { expectClose, uniform } from './op-check.ts';

const gpu = await testDevice();

describe('row-per-invocation attention forward', () => {
  const attn = new AttentionRows(gpu.device);
  for (const [batch, heads, seqQ, seqK, headDim, causal] of [[1, 1, 1, 1, 1, true], [2, 3, 9, 9, 8, true], [1, 2, 4, 7, 5, false], [1, 1, 6, 4, 3, true]] as const) {
    it(`${batch}×${heads} heads, ${seqQ}×${seqK}, head dim ${headDim}, ${causal ? 'causal' : 'full'}: O and LSE match f64`, async () => {
      const s = { batch, heads, seqQ, seqK, headDim };
      const [nq, nk] = [batch * heads * seqQ * headDim, batch * heads * seqK * headDim];
      const [q, k, v] = [uniform(nq, 1, -2, 2), uniform(nk, 2, -2, 2), uniform(nk, 3)];
      const got = await attn.run(s, q, k, v, { causal });
      const ref = attentionHeadsRef(s, q, k, v, causal);
      // Online softmax in f32 over ≤ 9 keys: ~1e-6 relative.
      expectClose(got.o, ref.out, { abs: 2e-6, rel: 1e-5 }, 'o');
      const finite = Array.from(ref.lse, (l) => (Number.isFinite(l) ? l : -3.4e38));
      expectClose(got.lse, finite, { abs: 2e-6, rel: 1e-5 }, 'lse');
    });
  }
});

describe('transpose', () => {
  const tr = new Transpose(gpu.device);
  it('is exact on ragged shapes', async () => {
    for (const [r, c] of [[1, 1], [1, 9], [7, 3], [65, 130]]) {
      const x = uniform(r * c, r * c);
      const y = await tr.run(r, c, x);
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) expect(y[j * r + i]).toBe(x[i * c + j]);
    }
  });
});
