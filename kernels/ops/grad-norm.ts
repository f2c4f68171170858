// Global gradient norm over all gradient buffers, and clipping by it, on the device.
// Stage 1 (per buffer): each workgroup sums the squares of a block of values into one
// partial; stage 2: one workgroup sums the partials and writes
// [Σg², ‖g‖, clip scale = min(1, maxNorm / (‖g‖ + 1e-6)), 0] (PyTorch's clip_grad_norm_).
// A step reads back only that small result, or nothing: AdamW reads the clip scale from it,
// and `scale()` multiplies a gradient by it in place. Fixed block layout and tree order make
// the norm repeatable bit for bit.
import { OpKernel, positiveInt, withArrays } from './op-kernel.ts';
import { ShapeError } from '../errors.ts';

const RWG = 256;
/** Values each stage-1 invocation sums: a workgroup covers RWG · PER_THREAD values. */
const PER_THREAD = 8;
const BLOCK = RWG * PER_THREAD;

const TREE = /* wgsl */ `
var<workgroup> sh: array<f32, ${RWG}>;
fn treeSum(li: u32, v: f32) -> f32 {
  sh[li] = v;
  workgroupBarrier();
  for (var stride = ${RWG / 2}u; stride > 0u; stride >>= 1u) {
    if (li < stride) { sh[li] += sh[li + stride]; }
    workgroupBarrier();
  }
  return sh[0];
}`;

export function sumSquaresWgsl(): string {
  return /* wgsl */ `
struct Dims { n: u32, offset: u32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
${TREE}
@compute @workgroup_size(${RWG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let base = wg.x * ${BLOCK}u + li;
  var s = 0.0;
  for (var k = 0u; k < ${PER_THREAD}u; k++) {
    let i = base + k * ${RWG}u;
    if (i < dims.n) { s += g[i] * g[i]; }
  }
  let total = treeSum(li, s);
  if (li == 0u) { partials[dims.offset + wg.x] = total; }
}`;
}

export function finishNormWgsl(): string {
  return /* wgsl */ `
struct Dims { count: u32, maxNorm: f32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> result: array<f32>;
${TREE}
@compute @workgroup_size(${RWG})
fn main(@builtin(local_invocation_index) li: u32) {
  var s = 0.0;
  for (var i = li; i < dims.count; i += ${RWG}u) { s += partials[i]; }
  let total = treeSum(li, s);
  if (li == 0u) {
    let norm = sqrt(total);
    result[0] = total;
    result[1] = norm;
    result[2] = min(1.0, dims.maxNorm / (norm + 1e-6));
    result[3] = 0.0;
  }
}`;
}

export function scaleWgsl(): string {
  return /* wgsl */ `
struct Dims { n: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> result: array<f32>;
@group(0) @binding(2) var<storage, read_write> g: array<f32>;
@compute @workgroup_size(${RWG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i < dims.n) { g[i] = g[i] * result[2]; }
}`;
}

/** A gradient buffer and how many values of it count. */
export interface GradSlice {
  buffer: GPUBuffer;
  n: number;
}

/** Index of the clip scale in the result buffer. */
export const CLIP_SCALE_INDEX = 2;
/** Values in the result buffer: [Σg², ‖g‖, clip scale, 0]. */
export const GRAD_NORM_RESULT_VALUES = 4;

export class GradNorm {
  private readonly k: OpKernel;
  private partials: GPUBuffer | null = null;

  constructor(readonly device: GPUDevice) {
    this.k = new OpKernel(device, 'gradient norm');
  }

  private scratch(count: number): GPUBuffer {
    if (!this.partials || this.partials.size < count * 4) {
      // Not destroyed: an earlier, unsubmitted encoder may still use it.
      this.partials = this.device.createBuffer({
        size: Math.max(16, count * 4),
        usage: GPUBufferUsage.STORAGE,
        label: 'gradient norm partials',
      });
    }
    return this.partials;
  }

  /**
   * Writes [Σg², ‖g‖, min(1, maxNorm / (‖g‖ + 1e-6)), 0] over every value of `grads` into
   * `result` (4 f32). maxNorm = Infinity gives scale 1 (norm only).
   */
  norm(encoder: GPUCommandEncoder, grads: GradSlice[], result: GPUBuffer, maxNorm = Infinity): void {
    if (grads.length === 0) throw new ShapeError('gradient norm: no gradient buffers given');
    if (!(maxNorm > 0)) throw new Error(`gradient norm: maxNorm must be positive, got ${maxNorm}`);
    this.k.need('result', result, GRAD_NORM_RESULT_VALUES);
    const maxGroups = this.device.limits.maxComputeWorkgroupsPerDimension;
    let count = 0;
    const blocks = grads.map((g, i) => {
      positiveInt('gradient norm', `grads[${i}].n`, g.n);
      this.k.need(`grads[${i}]`, g.buffer, g.n);
      const b = Math.ceil(g.n / BLOCK);
      if (b > maxGroups)
        throw new ShapeError(`gradient norm: grads[${i}] has ${g.n} values, over ${maxGroups * BLOCK}`);
      count += b;
      return b;
    });
    const partials = this.scratch(count);
    const p1 = this.k.pipeline('sum squares', sumSquaresWgsl);
    let offset = 0;
    grads.forEach((g, i) => {
      this.k.dispatch(
        encoder,
        p1,
        [this.k.uniform([{ u32: g.n }, { u32: offset }]), g.buffer, partials],
        [blocks[i], 1],
      );
      offset += blocks[i];
    });
    const f32Max = 3.4028234663852886e38;
    const u = this.k.uniform([{ u32: count }, { f32: Math.min(maxNorm, f32Max) }]);
    this.k.dispatch(encoder, this.k.pipeline('finish', finishNormWgsl), [u, partials, result], [1, 1]);
  }

  /** g *= clip scale (read from `result` on the device) over n values. */
  scale(encoder: GPUCommandEncoder, grad: GradSlice, result: GPUBuffer): void {
    positiveInt('gradient norm', 'n', grad.n);
    this.k.need('grad', grad.buffer, grad.n);
    this.k.need('result', result, GRAD_NORM_RESULT_VALUES);
    const groups = Math.ceil(grad.n / RWG);
    if (groups > this.device.limits.maxComputeWorkgroupsPerDimension)
      throw new ShapeError(`gradient norm: ${grad.n} values are too many to scale in one dispatch`);
    this.k.dispatch(
      encoder,
      this.k.pipeline('scale', scaleWgsl),
      [this.k.uniform([{ u32: grad.n }]), result, grad.buffer],
      [groups, 1],
    );
  }

  /** Norm and clip of host arrays: returns the norm, the scale and the clipped gradients. */
  async run(
    grads: Float32Array[],
    maxNorm = Infinity,
  ): Promise<{ sumSquares: number; norm: number; scale: number; clipped: Float32Array[] }> {
    return withArrays(this.device, async (run) => {
      const slices = grads.map((g) => ({ buffer: run.upload(g), n: g.length }));
      const result = run.output(GRAD_NORM_RESULT_VALUES);
      this.norm(run.encoder, slices, result, maxNorm);
      for (const s of slices) this.scale(run.encoder, s, result);
      const [res, ...clipped] = await run.finish([
        { buffer: result, elements: 4 },
        ...slices.map((s) => ({ buffer: s.buffer, elements: s.n })),
      ]);
      return { sumSquares: res[0], norm: res[1], scale: res[2], clipped };
    });
  }
}
