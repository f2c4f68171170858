// Softmax cross-entropy over the vocabulary: mean loss over the rows whose target is not
// ignored (a negative target masks its row: prompts in a prompt→answer task), and its
// gradient with respect to the logits.
// Forward: one invocation per row (max, log-sum-exp, the row's loss; the log-sum-exp is
// saved for the backward), then one workgroup sums the rows in a fixed order, so the loss
// is repeatable bit for bit. The result buffer holds [mean loss, counted rows].
import { ELEMENTWISE_MAIN, OpKernel, WG, positiveInt, withArrays } from './op-kernel.ts';

const HEADER = /* wgsl */ `
struct Dims { rows: u32, vocab: u32, scale: f32, _a: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;`;

/** Threads of the single workgroup that sums the rows' losses. */
const REDUCE_WG = 256;

export function crossEntropyRowsWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> rowLoss: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= dims.rows) { return; }
  let base = r * dims.vocab;
  var mx = logits[base];
  for (var v = 1u; v < dims.vocab; v++) { mx = max(mx, logits[base + v]); }
  var z = 0.0;
  for (var v = 0u; v < dims.vocab; v++) { z += exp(logits[base + v] - mx); }
  let l = mx + log(z);
  lse[r] = l;
  let t = targets[r];
  var loss = 0.0;
  if (t >= 0 && u32(t) < dims.vocab) { loss = l - logits[base + u32(t)]; }
  rowLoss[r] = loss;
}`;
}

export function crossEntropyReduceWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> rowLoss: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> result: array<f32>;
var<workgroup> sums: array<f32, ${REDUCE_WG}>;
var<workgroup> counts: array<f32, ${REDUCE_WG}>;
@compute @workgroup_size(${REDUCE_WG})
fn main(@builtin(local_invocation_index) li: u32) {
  var s = 0.0;
  var c = 0.0;
  for (var r = li; r < dims.rows; r += ${REDUCE_WG}u) {
    let t = targets[r];
    if (t >= 0 && u32(t) < dims.vocab) { s += rowLoss[r]; c += 1.0; }
  }
  sums[li] = s;
  counts[li] = c;
  workgroupBarrier();
  for (var stride = ${REDUCE_WG / 2}u; stride > 0u; stride >>= 1u) {
    if (li < stride) { sums[li] += sums[li + stride]; counts[li] += counts[li + stride]; }
    workgroupBarrier();
  }
  if (li == 0u) {
    result[0] = sums[0] / max(counts[0], 1.0);
    result[1] = counts[0];
  }
}`;
}

/** dlogits = scale · (softmax − onehot(target)) / counted rows; 0 on ignored rows. */
export function crossEntropyBackwardWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> result: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;

fn apply(i: u32) {
  if (i >= dims.rows * dims.vocab) { return; }
  let r = i / dims.vocab;
  let v = i % dims.vocab;
  let t = targets[r];
  var g = 0.0;
  if (t >= 0 && u32(t) < dims.vocab) {
    g = exp(logits[i] - lse[r]);
    if (u32(t) == v) { g -= 1.0; }
    g *= dims.scale / max(result[1], 1.0);
  }
  dlogits[i] = g;
}
${ELEMENTWISE_MAIN}`;
}

export interface CrossEntropyShape {
  rows: number;
  vocab: number;
}

export interface CrossEntropyForwardBuffers {
  logits: GPUBuffer;
  /** i32 per row; negative = ignored. */
  targets: GPUBuffer;
  /** rows values: each row's loss (scratch). */
  rowLoss: GPUBuffer;
  /** rows values: each row's log-sum-exp, read by the backward. */
  lse: GPUBuffer;
  /** 2 values: [mean loss over counted rows, counted rows]. */
  result: GPUBuffer;
}

export class CrossEntropy {
  private readonly k: OpKernel;

  constructor(readonly device: GPUDevice) {
    this.k = new OpKernel(device, 'cross-entropy');
  }

  private uniform(s: CrossEntropyShape, scale = 1): GPUBuffer {
    positiveInt('cross-entropy', 'rows', s.rows);
    positiveInt('cross-entropy', 'vocab', s.vocab);
    return this.k.uniform([{ u32: s.rows }, { u32: s.vocab }, { f32: scale }]);
  }

  forward(encoder: GPUCommandEncoder, s: CrossEntropyShape, b: CrossEntropyForwardBuffers): void {
    const u = this.uniform(s);
    for (const [name, buf, len] of [
      ['logits', b.logits, s.rows * s.vocab],
      ['targets', b.targets, s.rows],
      ['rowLoss', b.rowLoss, s.rows],
      ['lse', b.lse, s.rows],
      ['result', b.result, 2],
    ] as const)
      this.k.need(name, buf, len);
    this.k.dispatch(
      encoder,
      this.k.pipeline('rows', crossEntropyRowsWgsl),
      [u, b.logits, b.targets, b.rowLoss, b.lse],
      s.rows,
    );
    this.k.dispatch(
      encoder,
      this.k.pipeline('reduce', crossEntropyReduceWgsl),
      [u, b.rowLoss, b.targets, b.result],
      [1, 1],
    );
  }

  /** dlogits of (scale · mean loss); reads the forward's lse and result buffers. */
  backward(
    encoder: GPUCommandEncoder,
    s: CrossEntropyShape,
    b: { logits: GPUBuffer; targets: GPUBuffer; lse: GPUBuffer; result: GPUBuffer; dlogits: GPUBuffer },
    scale = 1,
  ): void {
    const u = this.uniform(s, scale);
    for (const [name, buf, len] of [
      ['logits', b.logits, s.rows * s.vocab],
      ['targets', b.targets, s.rows],
      ['lse', b.lse, s.rows],
      ['result', b.result, 2],
      ['dlogits', b.dlogits, s.rows * s.vocab],
    ] as const)
      this.k.need(name, buf, len);
    this.k.dispatchElements(
      encoder,
      this.k.pipeline('backward', crossEntropyBackwardWgsl),
      [u, b.logits, b.targets, b.lse, b.result, b.dlogits],
      s.rows * s.vocab,
    );
  }

  /** Forward and backward on host arrays: the mean loss, counted rows and dlogits. */
  async run(
    s: CrossEntropyShape,
    logits: Float32Array,
    targets: Int32Array,
  ): Promise<{ loss: number; count: number; dlogits: Float32Array }> {
    return withArrays(this.device, async (run) => {
      const [gl, gt] = [run.upload(logits), run.upload(targets)];
      const [rowLoss, lse, result, dlogits] = [s.rows, s.rows, 2, s.rows * s.vocab].map((e) => run.output(e));
      this.forward(run.encoder, s, { logits: gl, targets: gt, rowLoss, lse, result });
      this.backward(run.encoder, s, { logits: gl, targets: gt, lse, result, dlogits });
      const [res, dl] = await run.finish([
        { buffer: result, elements: 2 },
        { buffer: dlogits, elements: s.rows * s.vocab },
      ]);
      return { loss: res[0], count: res[1], dlogits: dl };
    });
  }
}
