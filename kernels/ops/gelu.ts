// GELU (tanh approximation), forward and backward, element-wise over any number of values.
// The tanh argument is clamped to ±15 (tanh is ±1 to f32 precision there): some drivers
// compute tanh from exponentials, which overflow to NaN for large arguments.
import { ELEMENTWISE_MAIN, OpKernel, positiveInt, withArrays } from './op-kernel.ts';

const HEADER = /* wgsl */ `
struct Dims { n: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
const C = 0.7978845608028654; // sqrt(2/pi)
fn inner(x: f32) -> f32 { return clamp(C * (x + 0.044715 * x * x * x), -15.0, 15.0); }
`;

export function geluForwardWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
fn apply(i: u32) {
  if (i >= dims.n) { return; }
  let v = x[i];
  y[i] = 0.5 * v * (1.0 + tanh(inner(v)));
}
${ELEMENTWISE_MAIN}`;
}

/** dx = dy · gelu'(x); gelu'(x) = 0.5(1 + t) + 0.5·x·(1 − t²)·C·(1 + 3·0.044715·x²), t = tanh(inner). */
export function geluBackwardWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
fn apply(i: u32) {
  if (i >= dims.n) { return; }
  let v = x[i];
  let t = tanh(inner(v));
  let s = 1.0 - t * t;
  var d = 0.5 * (1.0 + t);
  // Where tanh saturates the second term is 0, but v² may be inf (0·inf = NaN): skip it.
  if (s > 0.0) { d += 0.5 * v * s * C * (1.0 + 0.134145 * v * v); }
  dx[i] = dy[i] * d;
}
${ELEMENTWISE_MAIN}`;
}

export class Gelu {
  private readonly k: OpKernel;

  constructor(readonly device: GPUDevice) {
    this.k = new OpKernel(device, 'gelu');
  }

  /** y = gelu(x) over n values. */
  forward(encoder: GPUCommandEncoder, n: number, b: { x: GPUBuffer; y: GPUBuffer }): void {
    positiveInt('gelu', 'n', n);
    this.k.need('x', b.x, n);
    this.k.need('y', b.y, n);
    const p = this.k.pipeline('forward', geluForwardWgsl);
    this.k.dispatchElements(encoder, p, [this.k.uniform([{ u32: n }]), b.x, b.y], n);
  }

  /** dx = dy · gelu'(x) over n values (x is the forward's input). */
  backward(encoder: GPUCommandEncoder, n: number, b: { x: GPUBuffer; dy: GPUBuffer; dx: GPUBuffer }): void {
    positiveInt('gelu', 'n', n);
    this.k.need('x', b.x, n);
    this.k.need('dy', b.dy, n);
    this.k.need('dx', b.dx, n);
    const p = this.k.pipeline('backward', geluBackwardWgsl);
    this.k.dispatchElements(encoder, p, [this.k.uniform([{ u32: n }]), b.x, b.dy, b.dx], n);
  }

  async runForward(x: Float32Array): Promise<Float32Array> {
    return withArrays(this.device, async (run) => {
      const y = run.output(x.length);
      this.forward(run.encoder, x.length, { x: run.upload(x), y });
      return (await run.finish([{ buffer: y, elements: x.length }]))[0];
    });
  }

  async runBackward(x: Float32Array, dy: Float32Array): Promise<Float32Array> {
    return withArrays(this.device, async (run) => {
      const dx = run.output(x.length);
      this.backward(run.encoder, x.length, { x: run.upload(x), dy: run.upload(dy), dx });
      return (await run.finish([{ buffer: dx, elements: x.length }]))[0];
    });
  }
}
