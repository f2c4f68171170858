// Plain CPU reference for attention (f64 accumulation), the check for the GPU kernel.
import type { AttentionShape } from './attention-shape.ts';

export interface AttentionRefOptions {
  causal?: boolean;
  /** Defaults to 1/√headDim. */
  scale?: number;
}

/**
 * O = softmax(Q·Kᵀ·scale + mask)·V per (batch, head), with the same layout and causal
 * alignment as the kernel ([b, h, seq, d]; query i sees key j iff j ≤ i + seqK − seqQ).
 * Also returns the natural log-sum-exp of each row's scaled scores (−∞ for a row with no key).
 */
export function attentionRef(
  shape: AttentionShape,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  opts: AttentionRefOptions = {},
): { out: Float64Array; lse: Float64Array } {
  const { batch, heads, seqQ, seqK, headDim: D } = shape;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const bh = batch * heads;
  const out = new Float64Array(bh * seqQ * D);
  const lse = new Float64Array(bh * seqQ);
  const s = new Float64Array(seqK);
  for (let h = 0; h < bh; h++) {
    const qo = h * seqQ * D;
    const ko = h * seqK * D;
    for (let i = 0; i < seqQ; i++) {
      const end = opts.causal ? Math.max(0, Math.min(seqK, i + seqK - seqQ + 1)) : seqK;
      if (end === 0) {
        lse[h * seqQ + i] = -Infinity;
        continue;
      }
      let max = -Infinity;
      for (let j = 0; j < end; j++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[qo + i * D + d] * k[ko + j * D + d];
        s[j] = dot * scale;
        if (s[j] > max) max = s[j];
      }
      let sum = 0;
      for (let j = 0; j < end; j++) {
        s[j] = Math.exp(s[j] - max);
        sum += s[j];
      }
      for (let j = 0; j < end; j++) {
        const p = s[j] / sum;
        for (let d = 0; d < D; d++) out[qo + i * D + d] += p * v[ko + j * D + d];
      }
      lse[h * seqQ + i] = max + Math.log(sum);
    }
  }
  return { out, lse };
}
