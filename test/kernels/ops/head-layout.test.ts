import { describe, expect, it } from 'vitest';
import { HeadLayout } from '../../../kernels/ops/head-layout.ts';
import { testDevice } from '../../support/gpu.ts';
import { uniform } from './op-check.ts';

const gpu = await testDevice();
const hl = new HeadLayout(gpu.device);

describe('head layout permutations', () => {
  // [batch, seq, heads, headDim]: all different and odd, so a swapped index shows.
  for (const [B, T, H, hd] of [
    [1, 1, 1, 1],
    [2, 3, 5, 7],
    [3, 9, 2, 4],
  ]) {
    const s = { batch: B, seq: T, heads: H, headDim: hd };
    const d = H * hd;
    // Index of (b, h, t, e) in [B, H, T, hd] and of its row/column in [B·T, ·].
    const bhte = (b: number, h: number, t: number, e: number) => ((b * H + h) * T + t) * hd + e;
    const each = (f: (b: number, h: number, t: number, e: number) => void) => {
      for (let b = 0; b < B; b++)
        for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let e = 0; e < hd; e++) f(b, h, t, e);
    };

    it(`${B}×${T}, ${H} heads of ${hd}: split qkv and merge its gradient`, async () => {
      const qkv = uniform(B * T * 3 * d, B + T + H);
      const { q, k, v } = await hl.runSplitQkv(s, qkv);
      each((b, h, t, e) => {
        const src = (b * T + t) * 3 * d + h * hd + e;
        expect(q[bhte(b, h, t, e)]).toBe(qkv[src]);
        expect(k[bhte(b, h, t, e)]).toBe(qkv[src + d]);
        expect(v[bhte(b, h, t, e)]).toBe(qkv[src + 2 * d]);
      });
      // The backward is the inverse permutation.
      expect(await hl.runMergeQkvGrad(s, q, k, v)).toEqual(qkv);
    });

    it(`${B}×${T}, ${H} heads of ${hd}: merge heads and split its gradient`, async () => {
      const o = uniform(B * T * d, 11 * B + T);
      const y = await hl.runMergeHeads(s, o);
      each((b, h, t, e) => expect(y[(b * T + t) * d + h * hd + e]).toBe(o[bhte(b, h, t, e)]));
      expect(await hl.runSplitHeads(s, y)).toEqual(o);
    });
  }

  it('refuses short buffers', async () => {
    await expect(hl.runSplitQkv({ batch: 1, seq: 2, heads: 2, headDim: 2 }, new Float32Array(20))).rejects.toThrow(
      /qkv holds 80 bytes, needs 96/,
    );
  });
});
