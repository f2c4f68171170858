// Residual add: y = a + b, or in place a += b (WebGPU forbids binding one buffer as both
// read and read_write in a dispatch, so accumulation has its own program). The backward of
// y = a + b passes dy to both inputs; where a gradient has two sources, accumulate adds them.
import { ELEMENTWISE_MAIN, OpKernel, positiveInt, withArrays } from './op-kernel.ts';

const HEADER = /* wgsl */ `
struct Dims { n: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
`;

export function addWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
fn apply(i: u32) {
  if (i < dims.n) { y[i] = a[i] + b[i]; }
}
${ELEMENTWISE_MAIN}`;
}

export function accumulateWgsl(): string {
  return /* wgsl */ `${HEADER}
@group(0) @binding(1) var<storage, read_write> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
fn apply(i: u32) {
  if (i < dims.n) { a[i] = a[i] + b[i]; }
}
${ELEMENTWISE_MAIN}`;
}

export class ResidualAdd {
  private readonly k: OpKernel;

  constructor(readonly device: GPUDevice) {
    this.k = new OpKernel(device, 'residual add');
  }

  /** y = a + b over n values; y must be a buffer other than a and b. */
  add(encoder: GPUCommandEncoder, n: number, b: { a: GPUBuffer; b: GPUBuffer; y: GPUBuffer }): void {
    positiveInt('residual add', 'n', n);
    this.k.need('a', b.a, n);
    this.k.need('b', b.b, n);
    this.k.need('y', b.y, n);
    if (b.y === b.a || b.y === b.b)
      throw new Error('residual add: y must differ from a and b; use accumulate() to add in place');
    this.k.dispatchElements(encoder, this.k.pipeline('add', addWgsl), [this.k.uniform([{ u32: n }]), b.a, b.b, b.y], n);
  }

  /** a += b over n values. */
  accumulate(encoder: GPUCommandEncoder, n: number, b: { a: GPUBuffer; b: GPUBuffer }): void {
    positiveInt('residual add', 'n', n);
    this.k.need('a', b.a, n);
    this.k.need('b', b.b, n);
    if (b.a === b.b) throw new Error('residual add: accumulate needs two different buffers');
    this.k.dispatchElements(
      encoder,
      this.k.pipeline('accumulate', accumulateWgsl),
      [this.k.uniform([{ u32: n }]), b.a, b.b],
      n,
    );
  }

  async runAdd(a: Float32Array, b: Float32Array): Promise<Float32Array> {
    return withArrays(this.device, async (run) => {
      const y = run.output(a.length);
      this.add(run.encoder, a.length, { a: run.upload(a), b: run.upload(b), y });
      return (await run.finish([{ buffer: y, elements: a.length }]))[0];
    });
  }

  async runAccumulate(a: Float32Array, b: Float32Array): Promise<Float32Array> {
    return withArrays(this.device, async (run) => {
      const ga = run.upload(a);
      this.accumulate(run.encoder, a.length, { a: ga, b: run.upload(b) });
      return (await run.finish([{ buffer: ga, elements: a.length }]))[0];
    });
  }
}
