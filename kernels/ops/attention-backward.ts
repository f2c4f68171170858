// Backward of (causal) attention in the attention kernel's layout, from the forward's output
// O and per-row log-sum-exp L (no stored probabilities: P_ij = exp(scale·q_i·k_j − L_i)).
//   D_i  = dO_i · O_i
//   dv_j = Σ_i P_ij dO_i
//   dS_ij = P_ij (dO_i · v_j − D_i)
//   dq_i = scale · Σ_j dS_ij k_j,   dk_j = scale · Σ_i dS_ij q_i
// Three programs: D per query row; dq per query row (loop over its keys); dk, dv per key row
// (loop over the queries that see it). Each output has one writer summing in a fixed order:
// no atomics, repeatable bit for bit. One invocation per row keeps a row of q (or k, v) and
// its accumulators in registers, specialised to the head size.
import { OpKernel, WG, positiveInt, withArrays } from './op-kernel.ts';
import { ShapeError } from '../errors.ts';
import { MAX_BACKWARD_HEAD_DIM } from './limits.ts';

const HEADER = /* wgsl */ `
struct Dims { bh: u32, seqQ: u32, seqK: u32, causal: u32, scale: f32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
// Keys visible to query i: [0, keyEnd(i)); bottom-right aligned when causal.
fn keyEnd(i: u32) -> u32 {
  if (dims.causal == 0u) { return dims.seqK; }
  return u32(clamp(i32(i) + i32(dims.seqK) - i32(dims.seqQ) + 1, 0, i32(dims.seqK)));
}`;

export function attentionDeltaWgsl(hd: number): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> o: array<f32>;
@group(0) @binding(2) var<storage, read> dO: array<f32>;
@group(0) @binding(3) var<storage, read_write> delta: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= dims.bh * dims.seqQ) { return; }
  var s = 0.0;
  for (var e = 0u; e < ${hd}u; e++) { s += o[r * ${hd}u + e] * dO[r * ${hd}u + e]; }
  delta[r] = s;
}`;
}

/** What both gradient programs read: the forward's inputs, dO, its LSE and delta = rowsum(O·dO). */
const GRAD_INPUTS = /* wgsl */ `@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dO: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> delta: array<f32>;`;

export function attentionDqWgsl(hd: number): string {
  return /* wgsl */ `${HEADER}
${GRAD_INPUTS}
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x; // (bh, i)
  if (r >= dims.bh * dims.seqQ) { return; }
  let h = r / dims.seqQ;
  let i = r % dims.seqQ;
  var qi: array<f32, ${hd}>;
  var gi: array<f32, ${hd}>;
  var acc: array<f32, ${hd}>;
  for (var e = 0u; e < ${hd}u; e++) { qi[e] = q[r * ${hd}u + e]; gi[e] = dO[r * ${hd}u + e]; }
  let l = lse[r];
  let di = delta[r];
  let end = keyEnd(i);
  for (var j = 0u; j < end; j++) {
    let kb = (h * dims.seqK + j) * ${hd}u;
    var s = 0.0;
    var dp = 0.0;
    for (var e = 0u; e < ${hd}u; e++) { s += qi[e] * k[kb + e]; dp += gi[e] * v[kb + e]; }
    let ds = exp(s * dims.scale - l) * (dp - di);
    for (var e = 0u; e < ${hd}u; e++) { acc[e] += ds * k[kb + e]; }
  }
  for (var e = 0u; e < ${hd}u; e++) { dq[r * ${hd}u + e] = acc[e] * dims.scale; }
}`;
}

export function attentionDkvWgsl(hd: number): string {
  return /* wgsl */ `${HEADER}
${GRAD_INPUTS}
@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x; // (bh, j)
  if (r >= dims.bh * dims.seqK) { return; }
  let h = r / dims.seqK;
  let j = r % dims.seqK;
  var kj: array<f32, ${hd}>;
  var vj: array<f32, ${hd}>;
  var ak: array<f32, ${hd}>;
  var av: array<f32, ${hd}>;
  for (var e = 0u; e < ${hd}u; e++) { kj[e] = k[r * ${hd}u + e]; vj[e] = v[r * ${hd}u + e]; }
  // Queries that see key j: i with keyEnd(i) > j, i.e. i ≥ j − (seqK − seqQ) when causal.
  var first = 0u;
  if (dims.causal != 0u) { first = u32(max(i32(j) - i32(dims.seqK) + i32(dims.seqQ), 0)); }
  for (var i = first; i < dims.seqQ; i++) {
    let row = h * dims.seqQ + i;
    let qb = row * ${hd}u;
    var s = 0.0;
    var dp = 0.0;
    for (var e = 0u; e < ${hd}u; e++) { s += q[qb + e] * kj[e]; dp += dO[qb + e] * vj[e]; }
    let p = exp(s * dims.scale - lse[row]);
    let ds = p * (dp - delta[row]);
    for (var e = 0u; e < ${hd}u; e++) { av[e] += p * dO[qb + e]; ak[e] += ds * q[qb + e]; }
  }
  for (var e = 0u; e < ${hd}u; e++) { dk[r * ${hd}u + e] = ak[e] * dims.scale; dv[r * ${hd}u + e] = av[e]; }
}`;
}

export interface AttentionBackwardShape {
  batch: number;
  heads: number;
  seqQ: number;
  seqK: number;
  headDim: number;
}

export interface AttentionBackwardBuffers {
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  /** The forward's output and natural log-sum-exp per query row (of the scaled scores). */
  o: GPUBuffer;
  lse: GPUBuffer;
  dO: GPUBuffer;
  /** Scratch: one value per query row. */
  delta: GPUBuffer;
  dq: GPUBuffer;
  dk: GPUBuffer;
  dv: GPUBuffer;
}

export class AttentionBackward {
  private readonly k: OpKernel;

  constructor(readonly device: GPUDevice) {
    this.k = new OpKernel(device, 'attention backward');
  }

  encode(
    encoder: GPUCommandEncoder,
    s: AttentionBackwardShape,
    b: AttentionBackwardBuffers,
    opts: { causal?: boolean; scale?: number } = {},
  ): void {
    for (const key of ['batch', 'heads', 'seqQ', 'seqK', 'headDim'] as const)
      positiveInt('attention backward', key, s[key]);
    const hd = s.headDim;
    if (hd > MAX_BACKWARD_HEAD_DIM)
      throw new ShapeError(`attention backward: headDim ${hd} is over ${MAX_BACKWARD_HEAD_DIM}`);
    const causal = opts.causal ?? true;
    const scale = opts.scale ?? 1 / Math.sqrt(hd);
    const bh = s.batch * s.heads;
    const [nq, nk] = [bh * s.seqQ * hd, bh * s.seqK * hd];
    for (const [name, buf, len] of [
      ['q', b.q, nq],
      ['k', b.k, nk],
      ['v', b.v, nk],
      ['o', b.o, nq],
      ['lse', b.lse, bh * s.seqQ],
      ['dO', b.dO, nq],
      ['delta', b.delta, bh * s.seqQ],
      ['dq', b.dq, nq],
      ['dk', b.dk, nk],
      ['dv', b.dv, nk],
    ] as const)
      this.k.need(name, buf, len);
    const u = this.k.uniform([{ u32: bh }, { u32: s.seqQ }, { u32: s.seqK }, { u32: causal ? 1 : 0 }, { f32: scale }]);
    this.k.dispatch(
      encoder,
      this.k.pipeline(`delta ${hd}`, () => attentionDeltaWgsl(hd)),
      [u, b.o, b.dO, b.delta],
      bh * s.seqQ,
    );
    this.k.dispatch(
      encoder,
      this.k.pipeline(`dq ${hd}`, () => attentionDqWgsl(hd)),
      [u, b.q, b.k, b.v, b.dO, b.lse, b.delta, b.dq],
      bh * s.seqQ,
    );
    this.k.dispatch(
      encoder,
      this.k.pipeline(`dkv ${hd}`, () => attentionDkvWgsl(hd)),
      [u, b.q, b.k, b.v, b.dO, b.lse, b.delta, b.dk, b.dv],
      bh * s.seqK,
    );
  }

  async run(
    s: AttentionBackwardShape,
    t: { q: Float32Array; k: Float32Array; v: Float32Array; o: Float32Array; lse: Float32Array; dO: Float32Array },
    opts: { causal?: boolean; scale?: number } = {},
  ): Promise<{ dq: Float32Array; dk: Float32Array; dv: Float32Array }> {
    return withArrays(this.device, async (run) => {
      const [q, k, v, o, lse, dO] = [t.q, t.k, t.v, t.o, t.lse, t.dO].map((a) => run.upload(a));
      const [dq, dk, dv] = [t.q.length, t.k.length, t.v.length].map((n) => run.output(n));
      const delta = run.output(t.lse.length);
      this.encode(run.encoder, s, { q, k, v, o, lse, dO, delta, dq, dk, dv }, opts);
      const [a, b2, c] = await run.finish([
        { buffer: dq, elements: t.q.length },
        { buffer: dk, elements: t.k.length },
        { buffer: dv, elements: t.v.length },
      ]);
      return { dq: a, dk: b2, dv: c };
    });
  }
}
