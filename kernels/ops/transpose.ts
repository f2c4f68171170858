// Matrix transpose, [rows, cols] → [cols, rows]. The backward of y = x·W needs x·... with
// Wᵀ and xᵀ; until the matmul kernel takes transposed operands, the model materialises them.
import { ELEMENTWISE_MAIN, OpKernel, positiveInt, withArrays } from './op-kernel.ts';

export function transposeWgsl(): string {
  return /* wgsl */ `
struct Dims { rows: u32, cols: u32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn apply(i: u32) {
  if (i >= dims.rows * dims.cols) { return; }
  let c = i / dims.rows;
  let r = i % dims.rows;
  y[i] = x[r * dims.cols + c];
}
${ELEMENTWISE_MAIN}`;
}

export class Transpose {
  private readonly k: OpKernel;

  constructor(readonly device: GPUDevice) {
    this.k = new OpKernel(device, 'transpose');
  }

  /** y [cols, rows] = xᵀ for x [rows, cols]. */
  encode(encoder: GPUCommandEncoder, rows: number, cols: number, b: { x: GPUBuffer; y: GPUBuffer }): void {
    positiveInt('transpose', 'rows', rows);
    positiveInt('transpose', 'cols', cols);
    this.k.need('x', b.x, rows * cols);
    this.k.need('y', b.y, rows * cols);
    this.k.dispatchElements(encoder, this.k.pipeline('transpose', transposeWgsl), [this.k.uniform([{ u32: rows }, { u32: cols }]), b.x, b.y], rows * cols);
  }

  async run(rows: number, cols: number, x: Float32Array): Promise<Float32Array> {
    return withArrays(this.device, async (run) => {
      const y = run.output(rows * cols);
      this.encode(run.encoder, rows, cols, { x: run.upload(x), y });
      return (await run.finish([{ buffer: y, elements: rows * cols }]))[0];
    });
  }
}
