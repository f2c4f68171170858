// Plain CPU references (f64) of the training ops. The GPU ops are checked against these,
// and the GPU backward passes against central finite differences of these forwards.
// Layouts match the GPU ops: row-major, rows × dim.

type Vec = ArrayLike<number>;

/** out[n] = table[ids[n]] (+ pos[n mod positions]) over rows of `dim`. */
export function embeddingRef(ids: Vec, table: Vec, dim: number, pos?: Vec, positions = 1): Float64Array {
  const out = new Float64Array(ids.length * dim);
  for (let n = 0; n < ids.length; n++) {
    const t = n % positions;
    for (let d = 0; d < dim; d++) out[n * dim + d] = table[ids[n] * dim + d] + (pos ? pos[t * dim + d] : 0);
  }
  return out;
}

export interface LayerNormRef {
  y: Float64Array;
  mean: Float64Array;
  rstd: Float64Array;
}

/** y = (x - mean) / sqrt(var + eps) · gamma + beta over each row of `dim` (biased variance). */
export function layerNormRef(x: Vec, gamma: Vec, beta: Vec, dim: number, eps = 1e-5): LayerNormRef {
  const rows = x.length / dim;
  const y = new Float64Array(x.length);
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += x[r * dim + d];
    const mu = s / dim;
    let v = 0;
    for (let d = 0; d < dim; d++) v += (x[r * dim + d] - mu) ** 2;
    const rs = 1 / Math.sqrt(v / dim + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let d = 0; d < dim; d++) y[r * dim + d] = (x[r * dim + d] - mu) * rs * gamma[d] + beta[d];
  }
  return { y, mean, rstd };
}

const GELU_C = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluRef(x: Vec): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    y[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v)));
  }
  return y;
}

/**
 * Mean softmax cross-entropy over rows of `vocab` logits; a negative target ignores its row.
 * Returns the mean over counted rows (0 when none counts) and the count.
 */
export function crossEntropyRef(logits: Vec, targets: Vec, vocab: number): { loss: number; count: number } {
  const rows = targets.length;
  let sum = 0;
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t < 0) continue;
    let mx = -Infinity;
    for (let v = 0; v < vocab; v++) mx = Math.max(mx, logits[r * vocab + v]);
    let z = 0;
    for (let v = 0; v < vocab; v++) z += Math.exp(logits[r * vocab + v] - mx);
    sum += mx + Math.log(z) - logits[r * vocab + t];
    count++;
  }
  return { loss: count ? sum / count : 0, count };
}

export function addRef(a: Vec, b: Vec): Float64Array {
  const y = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i] + b[i];
  return y;
}

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number, for bias correction. */
  step: number;
}

/** One AdamW step (decoupled weight decay, bias-corrected moments), as in PyTorch's AdamW. */
export function adamwRef(
  p: Vec,
  g: Vec,
  m: Vec,
  v: Vec,
  h: AdamWHyper,
  gradScale = 1,
): { p: Float64Array; m: Float64Array; v: Float64Array } {
  const n = p.length;
  const out = { p: new Float64Array(n), m: new Float64Array(n), v: new Float64Array(n) };
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  for (let i = 0; i < n; i++) {
    const gi = g[i] * gradScale;
    const mi = h.beta1 * m[i] + (1 - h.beta1) * gi;
    const vi = h.beta2 * v[i] + (1 - h.beta2) * gi * gi;
    const pi = p[i] * (1 - h.lr * h.weightDecay);
    out.p[i] = pi - (h.lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + h.eps);
    out.m[i] = mi;
    out.v[i] = vi;
  }
  return out;
}

/** Global L2 norm over several gradient arrays and PyTorch's clip scale min(1, maxNorm / (norm + 1e-6)). */
export function gradNormRef(grads: Vec[], maxNorm = Infinity): { norm: number; scale: number } {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  const norm = Math.sqrt(s);
  return { norm, scale: Math.min(1, maxNorm / (norm + 1e-6)) };
}

/** Central finite differences of a scalar function of `x` (f64), one coordinate at a time. */
export function finiteDifferences(f: (x: Float64Array) => number, x: Vec, h = 1e-6, indices?: number[]): Float64Array {
  const xs = Float64Array.from(x);
  const out = new Float64Array(xs.length);
  for (const i of indices ?? xs.keys()) {
    const keep = xs[i];
    xs[i] = keep + h;
    const up = f(xs);
    xs[i] = keep - h;
    const down = f(xs);
    xs[i] = keep;
    out[i] = (up - down) / (2 * h);
  }
  return out;
}

/** Σ w·y: the scalar whose gradient with respect to y is w (the upstream gradient). */
export function dot(w: Vec, y: Vec): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += w[i] * y[i];
  return s;
}

/** y[r, j] = x[r, j] + bias[j] over rows of `cols`. */
export function addBiasRef(x: Vec, bias: Vec, cols: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] + bias[i % cols];
  return y;
}

export interface AttentionRefShape {
  batch: number;
  heads: number;
  seqQ: number;
  seqK: number;
  headDim: number;
}

/**
 * Attention in the attention kernel's layout (q, o [B, H, seqQ, hd]; k, v [B, H, seqK, hd]):
 * O = softmax(Q·Kᵀ·scale + mask)·V, causal aligned bottom-right (query i sees key j iff
 * j ≤ i + seqK − seqQ), and each row's natural log-sum-exp of its scaled scores.
 */
export function attentionHeadsRef(
  s: AttentionRefShape,
  q: Vec,
  k: Vec,
  v: Vec,
  causal: boolean,
  scale = 1 / Math.sqrt(s.headDim),
): { out: Float64Array; lse: Float64Array } {
  const { seqQ, seqK, headDim: D } = s;
  const bh = s.batch * s.heads;
  const out = new Float64Array(bh * seqQ * D);
  const lse = new Float64Array(bh * seqQ).fill(-Infinity);
  const sc = new Float64Array(seqK);
  for (let h = 0; h < bh; h++) {
    for (let i = 0; i < seqQ; i++) {
      const end = causal ? Math.max(0, Math.min(seqK, i + seqK - seqQ + 1)) : seqK;
      if (end === 0) continue;
      let mx = -Infinity;
      for (let j = 0; j < end; j++) {
        let dd = 0;
        for (let e = 0; e < D; e++) dd += q[(h * seqQ + i) * D + e] * k[(h * seqK + j) * D + e];
        sc[j] = dd * scale;
        mx = Math.max(mx, sc[j]);
      }
      let z = 0;
      for (let j = 0; j < end; j++) z += sc[j] = Math.exp(sc[j] - mx);
      for (let j = 0; j < end; j++)
        for (let e = 0; e < D; e++) out[(h * seqQ + i) * D + e] += (sc[j] / z) * v[(h * seqK + j) * D + e];
      lse[h * seqQ + i] = mx + Math.log(z);
    }
  }
  return { out, lse };
}
