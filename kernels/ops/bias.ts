// Bias of a linear layer over rows: forward y[r, j] += b[j] in place (for when the matmul's
// epilogue does not add it), backward db[j] = Σ_r dy[r, j]. The column sums run one
// invocation per column in a fixed row order, so the gradient is repeatable bit for bit.
import { ELEMENTWISE_MAIN, OpKernel, WG, positiveInt, withArrays } from './op-kernel.ts';

const HEADER = /* wgsl */ `
struct Dims { rows: u32, cols: u32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
`;

export function addBiasWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
fn apply(i: u32) {
  if (i < dims.rows * dims.cols) { y[i] = y[i] + bias[i % dims.cols]; }
}
${ELEMENTWISE_MAIN}`;
}

export function biasGradWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  if (j >= dims.cols) { return; }
  var s = 0.0;
  for (var r = 0u; r < dims.rows; r++) { s += dy[r * dims.cols + j]; }
  db[j] = s;
}`;
}

export interface BiasShape {
  rows: number;
  cols: number;
}

export class Bias {
  private readonly k: OpKernel;

  constructor(readonly device: GPUDevice) {
    this.k = new OpKernel(device, 'bias');
  }

  private uniform(s: BiasShape): GPUBuffer {
    positiveInt('bias', 'rows', s.rows);
    positiveInt('bias', 'cols', s.cols);
    return this.k.uniform([{ u32: s.rows }, { u32: s.cols }]);
  }

  /** y[r, j] += bias[j]. */
  add(encoder: GPUCommandEncoder, s: BiasShape, b: { bias: GPUBuffer; y: GPUBuffer }): void {
    const u = this.uniform(s);
    this.k.need('bias', b.bias, s.cols);
    this.k.need('y', b.y, s.rows * s.cols);
    this.k.dispatchElements(encoder, this.k.pipeline('add', addBiasWgsl), [u, b.bias, b.y], s.rows * s.cols);
  }

  /** db[j] = Σ_r dy[r, j] (overwrites db). */
  grad(encoder: GPUCommandEncoder, s: BiasShape, b: { dy: GPUBuffer; db: GPUBuffer }): void {
    const u = this.uniform(s);
    this.k.need('dy', b.dy, s.rows * s.cols);
    this.k.need('db', b.db, s.cols);
    this.k.dispatch(encoder, this.k.pipeline('grad', biasGradWgsl), [u, b.dy, b.db], s.cols);
  }

  async runAdd(s: BiasShape, y: Float32Array, bias: Float32Array): Promise<Float32Array> {
    return withArrays(this.device, async (run) => {
      const gy = run.upload(y);
      this.add(run.encoder, s, { bias: run.upload(bias), y: gy });
      return (await run.finish([{ buffer: gy, elements: s.rows * s.cols }]))[0];
    });
  }

  async runGrad(s: BiasShape, dy: Float32Array): Promise<Float32Array> {
    return withArrays(this.device, async (run) => {
      const db = run.output(s.cols);
      this.grad(run.encoder, s, { dy: run.upload(dy), db });
      return (await run.finish([{ buffer: db, elements: s.cols }]))[0];
    });
  }
}
