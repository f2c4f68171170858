// A simple causal attention forward in the attention kernel's layout, saving each row's
// log-sum-exp: one invocation per query row, online softmax over its keys, the row in
// registers. Decoding uses it over a KV cache (one new query row per sequence, where the fused
// kernel's row blocks would sit idle), and tests use it as the forward partner of
// AttentionBackward; same conventions as the fused kernel (bottom-right causal alignment,
// natural log-sum-exp of the scaled scores).
import { OpKernel, WG, positiveInt, withArrays } from './op-kernel.ts';
import { ShapeError } from '../errors.ts';
import { MAX_ROWS_HEAD_DIM } from './limits.ts';

export function attentionRowsWgsl(hd: number): string {
  return /* wgsl */ `
// kvRows: rows per head in the K/V buffers (seqK, or a KV cache's capacity).
struct Dims { bh: u32, seqQ: u32, seqK: u32, causal: u32, scale: f32, kvRows: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> o: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= dims.bh * dims.seqQ) { return; }
  let h = r / dims.seqQ;
  let i = r % dims.seqQ;
  var end = dims.seqK;
  if (dims.causal != 0u) { end = u32(clamp(i32(i) + i32(dims.seqK) - i32(dims.seqQ) + 1, 0, i32(dims.seqK))); }
  var qi: array<f32, ${hd}>;
  var acc: array<f32, ${hd}>;
  for (var e = 0u; e < ${hd}u; e++) { qi[e] = q[r * ${hd}u + e] * dims.scale; }
  var mx = -3.4e38;
  var z = 0.0;
  for (var j = 0u; j < end; j++) {
    let kb = (h * dims.kvRows + j) * ${hd}u;
    var s = 0.0;
    for (var e = 0u; e < ${hd}u; e++) { s += qi[e] * k[kb + e]; }
    let m2 = max(mx, s);
    let corr = exp(mx - m2);
    let p = exp(s - m2);
    z = z * corr + p;
    for (var e = 0u; e < ${hd}u; e++) { acc[e] = acc[e] * corr + p * v[kb + e]; }
    mx = m2;
  }
  for (var e = 0u; e < ${hd}u; e++) { o[r * ${hd}u + e] = select(0.0, acc[e] / z, end > 0u); }
  lse[r] = select(-3.4e38, mx + log(z), end > 0u);
}`;
}

export interface AttentionRowsShape {
  batch: number;
  heads: number;
  seqQ: number;
  seqK: number;
  headDim: number;
  /** Rows per (batch, head) in the K and V buffers: seqK (default) or a KV cache's capacity. */
  kvRows?: number;
}

export class AttentionRows {
  private readonly k: OpKernel;

  constructor(readonly device: GPUDevice) {
    this.k = new OpKernel(device, 'attention (rows)');
  }

  encode(
    encoder: GPUCommandEncoder,
    s: AttentionRowsShape,
    b: { q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; o: GPUBuffer; lse: GPUBuffer },
    opts: { causal?: boolean; scale?: number } = {},
  ): void {
    for (const key of ['batch', 'heads', 'seqQ', 'seqK', 'headDim'] as const) positiveInt('attention', key, s[key]);
    const hd = s.headDim;
    if (hd > MAX_ROWS_HEAD_DIM) throw new ShapeError(`attention: headDim ${hd} is over ${MAX_ROWS_HEAD_DIM}`);
    const bh = s.batch * s.heads;
    const kvRows = s.kvRows ?? s.seqK;
    if (!Number.isInteger(kvRows) || kvRows < s.seqK)
      throw new ShapeError(`attention: kvRows ${kvRows} must be an integer ≥ seqK ${s.seqK}`);
    for (const [name, buf, len] of [
      ['q', b.q, bh * s.seqQ * hd],
      ['k', b.k, bh * kvRows * hd],
      ['v', b.v, bh * kvRows * hd],
      ['o', b.o, bh * s.seqQ * hd],
      ['lse', b.lse, bh * s.seqQ],
    ] as const)
      this.k.need(name, buf, len);
    const u = this.k.uniform([
      { u32: bh },
      { u32: s.seqQ },
      { u32: s.seqK },
      { u32: (opts.causal ?? true) ? 1 : 0 },
      { f32: opts.scale ?? 1 / Math.sqrt(hd) },
      { u32: kvRows },
    ]);
    this.k.dispatch(
      encoder,
      this.k.pipeline(`rows ${hd}`, () => attentionRowsWgsl(hd)),
      [u, b.q, b.k, b.v, b.o, b.lse],
      bh * s.seqQ,
    );
  }

  async run(
    s: AttentionRowsShape,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    opts: { causal?: boolean; scale?: number } = {},
  ) {
    return withArrays(this.device, async (run) => {
      const nq = s.batch * s.heads * s.seqQ;
      const [o, lse] = [run.output(nq * s.headDim), run.output(nq)];
      this.encode(run.encoder, s, { q: run.upload(q), k: run.upload(k), v: run.upload(v), o, lse }, opts);
      const [oo, ll] = await run.finish([
        { buffer: o, elements: nq * s.headDim },
        { buffer: lse, elements: nq },
      ]);
      return { o: oo, lse: ll };
    });
  }
}
