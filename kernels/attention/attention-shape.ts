// The shape of one attention call and its element counts.

/** Q, O: [batch, heads, seqQ, headDim]; K, V: [batch, heads, seqK, headDim]; row-major, contiguous. */
export interface AttentionShape {
  batch: number;
  heads: number;
  seqQ: number;
  seqK: number;
  headDim: number;
}

export const MAX_HEAD_DIM = 256;

export function qElements(s: AttentionShape): number {
  return s.batch * s.heads * s.seqQ * s.headDim;
}
export function kvElements(s: AttentionShape): number {
  return s.batch * s.heads * s.seqK * s.headDim;
}
export function lseElements(s: AttentionShape): number {
  return s.batch * s.heads * s.seqQ;
}

/** FLOPs counted for attention: 4·B·H·Sq·Sk·D (Q·Kᵀ and P·V), halved for causal when Sq = Sk. */
export function attentionFlops(s: AttentionShape, causal: boolean): number {
  const full = 4 * s.batch * s.heads * s.seqQ * s.seqK * s.headDim;
  return causal && s.seqQ === s.seqK ? full / 2 : full;
}
