import { describe, expect, it } from 'vitest';
import { AttentionRows } from '../../../kernels/ops/attention-rows.ts';
import { attentionHeadsRef } from '../../../kernels/ops/reference.ts';
import { testDevice } from '../../support/gpu.ts';
import { expectClose, uniform } from './op-check.ts';

const gpu = await testDevice();

describe('row-per-invocation attention forward', () => {
  const attn = new AttentionRows(gpu.device);
  for (const [batch, heads, seqQ, seqK, headDim, causal] of [
    [1, 1, 1, 1, 1, true],
    [2, 3, 9, 9, 8, true],
    [1, 2, 4, 7, 5, false],
    [1, 1, 6, 4, 3, true],
  ] as const) {
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

describe('decoding against a KV cache', () => {
  it('writes a position into the cache and attends over its first rows (kvRows = capacity)', async () => {
    const { KvCache } = await import('../../../kernels/ops/kv-cache.ts');
    const cacheOp = new KvCache(gpu.device);
    const attn = new AttentionRows(gpu.device);
    const [B, H, hd, cap, T] = [2, 3, 4, 8, 5];
    // Full sequences in the head layout [B, H, T, hd].
    const [q, k, v] = [uniform(B * H * T * hd, 7), uniform(B * H * T * hd, 8), uniform(B * H * T * hd, 9)];
    let kc: Float32Array = new Float32Array(B * H * cap * hd).fill(NaN); // unused rows must never be read
    let vc: Float32Array = new Float32Array(B * H * cap * hd).fill(NaN);
    const row = (x: Float32Array, t: number) => {
      const out = new Float32Array(B * H * hd);
      for (let bh = 0; bh < B * H; bh++) out.set(x.subarray((bh * T + t) * hd, (bh * T + t + 1) * hd), bh * hd);
      return out;
    };
    const full = attentionHeadsRef({ batch: B, heads: H, seqQ: T, seqK: T, headDim: hd }, q, k, v, true);
    for (let t = 0; t < T; t++) {
      kc = await cacheOp.runWrite({ batch: B, heads: H, headDim: hd, capacity: cap }, t, row(k, t), kc);
      vc = await cacheOp.runWrite({ batch: B, heads: H, headDim: hd, capacity: cap }, t, row(v, t), vc);
      const got = await attn.run(
        { batch: B, heads: H, seqQ: 1, seqK: t + 1, headDim: hd, kvRows: cap },
        row(q, t),
        kc,
        vc,
      );
      // The new query's output equals row t of causal attention over the whole sequence.
      expectClose(got.o, Array.from(row(Float32Array.from(full.out), t)), { abs: 2e-6, rel: 1e-5 }, `o at ${t}`);
    }
    await expect(
      cacheOp.runWrite({ batch: B, heads: H, headDim: hd, capacity: cap }, cap, row(k, 0), kc),
    ).rejects.toThrow(/position 8 is outside the cache's 8 positions/);
  });
});
