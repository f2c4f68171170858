// Moving between the model's row layout and the attention kernel's head layout.
// The QKV projection gives qkv [B·T, 3·d] (q, k, v side by side; head h in columns h·hd …);
// attention wants q, k, v, o as [B, H, T, hd]. splitQkv/mergeHeads go one way, and their
// backward passes (mergeQkvGrad, splitHeads) the other. Pure permutations: exact.
import { ELEMENTWISE_MAIN, OpKernel, positiveInt, withArrays } from './op-kernel.ts';

const HEADER = /* wgsl */ `
struct Dims { batch: u32, seq: u32, heads: u32, headDim: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;

// (b, h, t, e) of a [B, H, T, hd] index, and the matching [B·T, H·hd] row and column.
fn rowOf(i: u32) -> u32 {
  let t = (i / dims.headDim) % dims.seq;
  let b = i / (dims.headDim * dims.seq * dims.heads);
  return b * dims.seq + t;
}
fn colOf(i: u32) -> u32 {
  let e = i % dims.headDim;
  let h = (i / (dims.headDim * dims.seq)) % dims.heads;
  return h * dims.headDim + e;
}
fn total() -> u32 { return dims.batch * dims.seq * dims.heads * dims.headDim; }`;

const ENTRY = `fn apply(i: u32) {
  if (i >= total()) { return; }
  let d = dims.heads * dims.headDim;`;

export function splitQkvWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> q: array<f32>;
@group(0) @binding(3) var<storage, read_write> k: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
${ENTRY}
  let src = rowOf(i) * 3u * d + colOf(i);
  q[i] = qkv[src];
  k[i] = qkv[src + d];
  v[i] = qkv[src + 2u * d];
}
${ELEMENTWISE_MAIN}`;
}

export function mergeQkvGradWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> dq: array<f32>;
@group(0) @binding(2) var<storage, read> dk: array<f32>;
@group(0) @binding(3) var<storage, read> dv: array<f32>;
@group(0) @binding(4) var<storage, read_write> dqkv: array<f32>;
${ENTRY}
  let dst = rowOf(i) * 3u * d + colOf(i);
  dqkv[dst] = dq[i];
  dqkv[dst + d] = dk[i];
  dqkv[dst + 2u * d] = dv[i];
}
${ELEMENTWISE_MAIN}`;
}

export function mergeHeadsWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> o: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${ENTRY}
  y[rowOf(i) * d + colOf(i)] = o[i];
}
${ELEMENTWISE_MAIN}`;
}

export function splitHeadsWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
${ENTRY}
  o[i] = y[rowOf(i) * d + colOf(i)];
}
${ELEMENTWISE_MAIN}`;
}

export interface HeadShape {
  batch: number;
  seq: number;
  heads: number;
  headDim: number;
}

export class HeadLayout {
  private readonly k: OpKernel;

  constructor(readonly device: GPUDevice) {
    this.k = new OpKernel(device, 'head layout');
  }

  private prepare(s: HeadShape): { u: GPUBuffer; n: number } {
    for (const key of ['batch', 'seq', 'heads', 'headDim'] as const) positiveInt('head layout', key, s[key]);
    return {
      u: this.k.uniform([{ u32: s.batch }, { u32: s.seq }, { u32: s.heads }, { u32: s.headDim }]),
      n: s.batch * s.seq * s.heads * s.headDim,
    };
  }

  /** qkv [B·T, 3·H·hd] → q, k, v [B, H, T, hd]. */
  splitQkv(
    encoder: GPUCommandEncoder,
    s: HeadShape,
    b: { qkv: GPUBuffer; q: GPUBuffer; k: GPUBuffer; v: GPUBuffer },
  ): void {
    const { u, n } = this.prepare(s);
    this.k.need('qkv', b.qkv, 3 * n);
    for (const [name, buf] of [
      ['q', b.q],
      ['k', b.k],
      ['v', b.v],
    ] as const)
      this.k.need(name, buf, n);
    this.k.dispatchElements(encoder, this.k.pipeline('splitQkv', splitQkvWgsl), [u, b.qkv, b.q, b.k, b.v], n);
  }

  /** Backward of splitQkv: dq, dk, dv [B, H, T, hd] → dqkv [B·T, 3·H·hd]. */
  mergeQkvGrad(
    encoder: GPUCommandEncoder,
    s: HeadShape,
    b: { dq: GPUBuffer; dk: GPUBuffer; dv: GPUBuffer; dqkv: GPUBuffer },
  ): void {
    const { u, n } = this.prepare(s);
    for (const [name, buf] of [
      ['dq', b.dq],
      ['dk', b.dk],
      ['dv', b.dv],
    ] as const)
      this.k.need(name, buf, n);
    this.k.need('dqkv', b.dqkv, 3 * n);
    this.k.dispatchElements(
      encoder,
      this.k.pipeline('mergeQkvGrad', mergeQkvGradWgsl),
      [u, b.dq, b.dk, b.dv, b.dqkv],
      n,
    );
  }

  /** o [B, H, T, hd] → y [B·T, H·hd]. */
  mergeHeads(encoder: GPUCommandEncoder, s: HeadShape, b: { o: GPUBuffer; y: GPUBuffer }): void {
    const { u, n } = this.prepare(s);
    this.k.need('o', b.o, n);
    this.k.need('y', b.y, n);
    this.k.dispatchElements(encoder, this.k.pipeline('mergeHeads', mergeHeadsWgsl), [u, b.o, b.y], n);
  }

  /** Backward of mergeHeads: dy [B·T, H·hd] → do [B, H, T, hd]. */
  splitHeads(encoder: GPUCommandEncoder, s: HeadShape, b: { y: GPUBuffer; o: GPUBuffer }): void {
    const { u, n } = this.prepare(s);
    this.k.need('y', b.y, n);
    this.k.need('o', b.o, n);
    this.k.dispatchElements(encoder, this.k.pipeline('splitHeads', splitHeadsWgsl), [u, b.y, b.o], n);
  }

  async runSplitQkv(s: HeadShape, qkv: Float32Array): Promise<{ q: Float32Array; k: Float32Array; v: Float32Array }> {
    return withArrays(this.device, async (run) => {
      const n = qkv.length / 3;
      const [q, k, v] = [run.output(n), run.output(n), run.output(n)];
      this.splitQkv(run.encoder, s, { qkv: run.upload(qkv), q, k, v });
      const out = await run.finish([q, k, v].map((buffer) => ({ buffer, elements: n })));
      return { q: out[0], k: out[1], v: out[2] };
    });
  }

  async runMergeQkvGrad(s: HeadShape, dq: Float32Array, dk: Float32Array, dv: Float32Array): Promise<Float32Array> {
    return withArrays(this.device, async (run) => {
      const dqkv = run.output(3 * dq.length);
      this.mergeQkvGrad(run.encoder, s, { dq: run.upload(dq), dk: run.upload(dk), dv: run.upload(dv), dqkv });
      return (await run.finish([{ buffer: dqkv, elements: 3 * dq.length }]))[0];
    });
  }

  async runMergeHeads(s: HeadShape, o: Float32Array): Promise<Float32Array> {
    return withArrays(this.device, async (run) => {
      const y = run.output(o.length);
      this.mergeHeads(run.encoder, s, { o: run.upload(o), y });
      return (await run.finish([{ buffer: y, elements: o.length }]))[0];
    });
  }

  async runSplitHeads(s: HeadShape, y: Float32Array): Promise<Float32Array> {
    return withArrays(this.device, async (run) => {
      const o = run.output(y.length);
      this.splitHeads(run.encoder, s, { y: run.upload(y), o });
      return (await run.finish([{ buffer: o, elements: y.length }]))[0];
    });
  }
}
