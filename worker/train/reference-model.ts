// CPU f64 reference of the whole decoder-only transformer: forward, mean masked loss, and
// the analytic backward for every parameter. The GPU model is checked against it (logits,
// loss, every gradient); the backward here is itself checked against finite differences.
// Architecture: x = wte[ids] + wpe[pos]; per block x += attn(LN1(x)), x += mlp(LN2(x)) with
// causal multi-head attention and a GELU (tanh) MLP; logits = LNf(x)·head.w.
import { crossEntropyRef, embeddingRef, geluRef, layerNormRef } from '../../kernels/ops/reference.ts';
import type { ModelConfig } from '../../shared/train/model-config.ts';
import { parameterLayout } from '../../shared/train/parameters.ts';

type Vec = ArrayLike<number>;
export type RefParameters = Map<string, Vec>;

export interface RefBatch {
  batchSize: number;
  seqLen: number;
  inputs: ArrayLike<number>;
  /** −1 = ignored. */
  targets: ArrayLike<number>;
}

/** C[m,n] = A[m,k]·B[k,n] (+ bias[n]). */
function matmul(a: Vec, b: Vec, m: number, k: number, n: number, bias?: Vec): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    if (bias) for (let j = 0; j < n; j++) c[i * n + j] = bias[j];
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      if (av === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += av * b[p * n + j];
    }
  }
  return c;
}

/** dA = dC·Bᵀ [m,k]. */
function matmulBT(dc: Vec, b: Vec, m: number, k: number, n: number): Float64Array {
  const da = new Float64Array(m * k);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += dc[i * n + j] * b[p * n + j];
      da[i * k + p] = s;
    }
  }
  return da;
}

/** dB = Aᵀ·dC [k,n]. */
function matmulAT(a: Vec, dc: Vec, m: number, k: number, n: number): Float64Array {
  const db = new Float64Array(k * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      if (av === 0) continue;
      for (let j = 0; j < n; j++) db[p * n + j] += av * dc[i * n + j];
    }
  }
  return db;
}

function columnSums(dc: Vec, m: number, n: number): Float64Array {
  const s = new Float64Array(n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) s[j] += dc[i * n + j];
  return s;
}

function addInto(a: Float64Array, b: Vec): void {
  for (let i = 0; i < a.length; i++) a[i] += b[i];
}

/**
 * Causal multi-head attention over qkv [B·T, 3d] (q, k, v side by side, head h in columns
 * h·hd … (h+1)·hd of each): out [B·T, d] and the softmax probabilities [B, H, T, T].
 */
export function causalAttentionRef(
  qkv: Vec,
  B: number,
  T: number,
  d: number,
  heads: number,
): { out: Float64Array; probs: Float64Array } {
  const hd = d / heads;
  const scale = 1 / Math.sqrt(hd);
  const out = new Float64Array(B * T * d);
  const probs = new Float64Array(B * heads * T * T);
  const row = 3 * d;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < T; i++) {
        const qi = (b * T + i) * row + h * hd;
        const pBase = ((b * heads + h) * T + i) * T;
        let mx = -Infinity;
        for (let j = 0; j <= i; j++) {
          const kj = (b * T + j) * row + d + h * hd;
          let s = 0;
          for (let e = 0; e < hd; e++) s += qkv[qi + e] * qkv[kj + e];
          probs[pBase + j] = s * scale;
          mx = Math.max(mx, s * scale);
        }
        let z = 0;
        for (let j = 0; j <= i; j++) z += probs[pBase + j] = Math.exp(probs[pBase + j] - mx);
        for (let j = 0; j <= i; j++) probs[pBase + j] /= z;
        const o = (b * T + i) * d + h * hd;
        for (let j = 0; j <= i; j++) {
          const vj = (b * T + j) * row + 2 * d + h * hd;
          const p = probs[pBase + j];
          for (let e = 0; e < hd; e++) out[o + e] += p * qkv[vj + e];
        }
      }
    }
  }
  return { out, probs };
}

/** d(qkv) from d(out), given qkv and the forward's probabilities. */
function causalAttentionBackward(
  qkv: Vec,
  probs: Vec,
  dout: Vec,
  B: number,
  T: number,
  d: number,
  heads: number,
): Float64Array {
  const hd = d / heads;
  const scale = 1 / Math.sqrt(hd);
  const row = 3 * d;
  const dqkv = new Float64Array(B * T * row);
  const dp = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < T; i++) {
        const pBase = ((b * heads + h) * T + i) * T;
        const o = (b * T + i) * d + h * hd;
        // dP_ij = dout_i · v_j; dV_j += P_ij dout_i
        let dot = 0;
        for (let j = 0; j <= i; j++) {
          const vj = (b * T + j) * row + 2 * d + h * hd;
          let s = 0;
          for (let e = 0; e < hd; e++) {
            s += dout[o + e] * qkv[vj + e];
            dqkv[vj + e] += probs[pBase + j] * dout[o + e];
          }
          dp[j] = s;
          dot += probs[pBase + j] * s;
        }
        // dS_ij = P_ij (dP_ij − Σ_k P_ik dP_ik); dq_i += dS_ij k_j · scale; dk_j += dS_ij q_i · scale
        const qi = (b * T + i) * row + h * hd;
        for (let j = 0; j <= i; j++) {
          const ds = probs[pBase + j] * (dp[j] - dot) * scale;
          const kj = (b * T + j) * row + d + h * hd;
          for (let e = 0; e < hd; e++) {
            dqkv[qi + e] += ds * qkv[kj + e];
            dqkv[kj + e] += ds * qkv[qi + e];
          }
        }
      }
    }
  }
  return dqkv;
}

function layerNormBackward(x: Vec, gamma: Vec, mean: Vec, rstd: Vec, dy: Vec, dim: number) {
  const rows = x.length / dim;
  const dx = new Float64Array(x.length);
  const dgamma = new Float64Array(dim);
  const dbeta = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    let sg = 0;
    let sgx = 0;
    for (let d = 0; d < dim; d++) {
      const i = r * dim + d;
      const xh = (x[i] - mean[r]) * rstd[r];
      const g = dy[i] * gamma[d];
      sg += g;
      sgx += g * xh;
      dgamma[d] += dy[i] * xh;
      dbeta[d] += dy[i];
    }
    for (let d = 0; d < dim; d++) {
      const i = r * dim + d;
      const xh = (x[i] - mean[r]) * rstd[r];
      dx[i] = rstd[r] * (dy[i] * gamma[d] - sg / dim - (xh * sgx) / dim);
    }
  }
  return { dx, dgamma, dbeta };
}

const GELU_C = Math.sqrt(2 / Math.PI);
function geluGrad(x: number): number {
  const t = Math.tanh(GELU_C * (x + 0.044715 * x ** 3));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * x * x);
}

interface BlockCache {
  xIn: Float64Array;
  ln1: ReturnType<typeof layerNormRef>;
  qkv: Float64Array;
  probs: Float64Array;
  attn: Float64Array;
  xMid: Float64Array;
  ln2: ReturnType<typeof layerNormRef>;
  h1: Float64Array;
  g: Float64Array;
}

export interface RefForward {
  loss: number;
  /** Rows whose target counts. */
  count: number;
  /** [B·T, vocab]. */
  logits: Float64Array;
  /** Named activations for layer-by-layer comparison: `x0`, `h.L.ln1`, `h.L.qkv`, `h.L.attn`, `h.L.out`, `h.L.mlp.h1`, `lnf`. */
  trace: Map<string, Float64Array>;
  cache: { blocks: BlockCache[]; xFinal: Float64Array; lnf: ReturnType<typeof layerNormRef> };
}

function param(p: RefParameters, name: string): Vec {
  const v = p.get(name);
  if (!v) throw new Error(`reference model: parameter ${name} is missing`);
  return v;
}

function checkBatch(c: ModelConfig, batch: RefBatch): void {
  const { batchSize: B, seqLen: T } = batch;
  if (T > c.contextLength) throw new Error(`reference model: seqLen ${T} exceeds the context ${c.contextLength}`);
  if (batch.inputs.length !== B * T || batch.targets.length !== B * T)
    throw new Error(`reference model: inputs and targets need batchSize·seqLen = ${B * T} values`);
  for (let i = 0; i < B * T; i++) {
    if (!(batch.inputs[i] >= 0 && batch.inputs[i] < c.vocabSize))
      throw new Error(`reference model: inputs[${i}] = ${batch.inputs[i]} is outside the vocabulary`);
    if (batch.targets[i] >= c.vocabSize)
      throw new Error(`reference model: targets[${i}] = ${batch.targets[i]} is outside the vocabulary`);
  }
}

export function referenceForward(c: ModelConfig, p: RefParameters, batch: RefBatch): RefForward {
  checkBatch(c, batch);
  const { batchSize: B, seqLen: T } = batch;
  const N = B * T;
  const d = c.dModel;
  const trace = new Map<string, Float64Array>();
  let x = embeddingRef(batch.inputs, param(p, 'wte'), d, param(p, 'wpe'), T);
  trace.set('x0', x);
  const blocks: BlockCache[] = [];
  for (let l = 0; l < c.layers; l++) {
    const q = (s: string) => param(p, `h.${l}.${s}`);
    const xIn = x;
    const ln1 = layerNormRef(xIn, q('ln1.weight'), q('ln1.bias'), d, c.lnEps);
    const qkv = matmul(ln1.y, q('attn.wqkv'), N, d, 3 * d, q('attn.bqkv'));
    const { out: attn, probs } = causalAttentionRef(qkv, B, T, d, c.heads);
    const xMid = matmul(attn, q('attn.wo'), N, d, d, q('attn.bo'));
    addInto(xMid, xIn);
    const ln2 = layerNormRef(xMid, q('ln2.weight'), q('ln2.bias'), d, c.lnEps);
    const h1 = matmul(ln2.y, q('mlp.w1'), N, d, c.dFF, q('mlp.b1'));
    const g = geluRef(h1);
    x = matmul(g, q('mlp.w2'), N, c.dFF, d, q('mlp.b2'));
    addInto(x, xMid);
    blocks.push({ xIn, ln1, qkv, probs, attn, xMid, ln2, h1, g });
    trace.set(`h.${l}.ln1`, ln1.y);
    trace.set(`h.${l}.qkv`, qkv);
    trace.set(`h.${l}.attn`, attn);
    trace.set(`h.${l}.mlp.h1`, h1);
    trace.set(`h.${l}.out`, x);
  }
  const lnf = layerNormRef(x, param(p, 'lnf.weight'), param(p, 'lnf.bias'), d, c.lnEps);
  trace.set('lnf', lnf.y);
  const logits = matmul(lnf.y, param(p, 'head.w'), N, d, c.vocabSize);
  const { loss, count } = crossEntropyRef(logits, batch.targets, c.vocabSize);
  return { loss, count, logits, trace, cache: { blocks, xFinal: x, lnf } };
}

/** The loss and d(loss)/d(every parameter), by parameter name. */
export function referenceGradients(
  c: ModelConfig,
  p: RefParameters,
  batch: RefBatch,
): { loss: number; grads: Map<string, Float64Array> } {
  const f = referenceForward(c, p, batch);
  const { batchSize: B, seqLen: T } = batch;
  const N = B * T;
  const d = c.dModel;
  const V = c.vocabSize;
  const grads = new Map<string, Float64Array>();

  // Cross-entropy: dlogits = (softmax − onehot) / count on counted rows.
  const dlogits = new Float64Array(N * V);
  for (let r = 0; r < N; r++) {
    const t = batch.targets[r];
    if (t < 0) continue;
    let mx = -Infinity;
    for (let v = 0; v < V; v++) mx = Math.max(mx, f.logits[r * V + v]);
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(f.logits[r * V + v] - mx);
    for (let v = 0; v < V; v++)
      dlogits[r * V + v] = (Math.exp(f.logits[r * V + v] - mx) / z - (v === t ? 1 : 0)) / f.count;
  }
  grads.set('head.w', matmulAT(f.cache.lnf.y, dlogits, N, d, V));
  const dlnf = matmulBT(dlogits, param(p, 'head.w'), N, d, V);
  const lf = layerNormBackward(f.cache.xFinal, param(p, 'lnf.weight'), f.cache.lnf.mean, f.cache.lnf.rstd, dlnf, d);
  grads.set('lnf.weight', lf.dgamma);
  grads.set('lnf.bias', lf.dbeta);
  let dx = lf.dx;

  for (let l = c.layers - 1; l >= 0; l--) {
    const q = (s: string) => param(p, `h.${l}.${s}`);
    const k = f.cache.blocks[l];
    const set = (s: string, g: Float64Array) => grads.set(`h.${l}.${s}`, g);
    // MLP: x = xMid + gelu(ln2·W1 + b1)·W2 + b2
    set('mlp.w2', matmulAT(k.g, dx, N, c.dFF, d));
    set('mlp.b2', columnSums(dx, N, d));
    const dg = matmulBT(dx, q('mlp.w2'), N, c.dFF, d);
    const dh1 = dg.map((v, i) => v * geluGrad(k.h1[i]));
    set('mlp.w1', matmulAT(k.ln2.y, dh1, N, d, c.dFF));
    set('mlp.b1', columnSums(dh1, N, c.dFF));
    const dln2 = matmulBT(dh1, q('mlp.w1'), N, d, c.dFF);
    const l2 = layerNormBackward(k.xMid, q('ln2.weight'), k.ln2.mean, k.ln2.rstd, dln2, d);
    set('ln2.weight', l2.dgamma);
    set('ln2.bias', l2.dbeta);
    const dxMid = Float64Array.from(dx);
    addInto(dxMid, l2.dx);
    // Attention: xMid = xIn + attn(ln1·Wqkv + bqkv)·Wo + bo
    set('attn.wo', matmulAT(k.attn, dxMid, N, d, d));
    set('attn.bo', columnSums(dxMid, N, d));
    const dattn = matmulBT(dxMid, q('attn.wo'), N, d, d);
    const dqkv = causalAttentionBackward(k.qkv, k.probs, dattn, B, T, d, c.heads);
    set('attn.wqkv', matmulAT(k.ln1.y, dqkv, N, d, 3 * d));
    set('attn.bqkv', columnSums(dqkv, N, 3 * d));
    const dln1 = matmulBT(dqkv, q('attn.wqkv'), N, d, 3 * d);
    const l1 = layerNormBackward(k.xIn, q('ln1.weight'), k.ln1.mean, k.ln1.rstd, dln1, d);
    set('ln1.weight', l1.dgamma);
    set('ln1.bias', l1.dbeta);
    dx = dxMid;
    addInto(dx, l1.dx);
  }

  // Embeddings: scatter-add by token, sum per position.
  const dwte = new Float64Array(V * d);
  const dwpe = new Float64Array(c.contextLength * d);
  for (let n = 0; n < N; n++) {
    const id = batch.inputs[n];
    const t = n % T;
    for (let e = 0; e < d; e++) {
      dwte[id * d + e] += dx[n * d + e];
      dwpe[t * d + e] += dx[n * d + e];
    }
  }
  grads.set('wte', dwte);
  grads.set('wpe', dwpe);
  // Every parameter has a gradient, in layout order.
  const ordered = new Map<string, Float64Array>();
  for (const s of parameterLayout(c)) ordered.set(s.name, grads.get(s.name)!);
  return { loss: f.loss, grads: ordered };
}
