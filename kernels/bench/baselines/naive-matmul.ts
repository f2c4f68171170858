// Baseline: the textbook kernel, one invocation per output entry, straight from storage.

export function naiveMatmulWgsl(dtype: 'f32' | 'f16'): string {
  return `${dtype === 'f16' ? 'enable f16;' : ''}
struct Dims { m: u32, n: u32, k: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read> a: array<${dtype}>;
@group(0) @binding(2) var<storage, read> b: array<${dtype}>;
@group(0) @binding(3) var<storage, read_write> c: array<${dtype}>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let row = g.y;
  let col = g.x;
  if (row >= d.m || col >= d.n) { return; }
  var s = 0.0;
  for (var p = 0u; p < d.k; p++) { s += f32(a[row * d.k + p]) * f32(b[p * d.n + col]); }
  c[row * d.n + col] = ${dtype}(s);
}
`;
}

export class NaiveMatmul {
  private readonly pipeline: GPUComputePipeline;
  private readonly dims: GPUBuffer;

  constructor(
    readonly device: GPUDevice,
    readonly m: number,
    readonly n: number,
    readonly k: number,
    dtype: 'f32' | 'f16' = 'f32',
  ) {
    const module = device.createShaderModule({ code: naiveMatmulWgsl(dtype), label: 'naive matmul' });
    this.pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    this.dims = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(this.dims, 0, new Uint32Array([m, n, k, 0]));
  }

  encode(
    enc: GPUCommandEncoder,
    a: GPUBuffer,
    b: GPUBuffer,
    c: GPUBuffer,
    timestampWrites?: GPUComputePassTimestampWrites,
  ): void {
    const bind = this.device.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: [this.dims, a, b, c].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const pass = enc.beginComputePass(timestampWrites ? { timestampWrites } : {});
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(Math.ceil(this.n / 8), Math.ceil(this.m / 8));
    pass.end();
  }

  destroy(): void {
    this.dims.destroy();
  }
}
