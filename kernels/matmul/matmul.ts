// Host side of the matmul kernel: shape checks, pipeline cache, dispatch.
import { uniformU32, uploadF32, storageBuffer, readF32 } from '../buffers.ts';
import { DEFAULT_TILE, matmulWgsl, tileM, tileN, type MatmulTile } from './matmul-program.ts';

export interface MatmulShape {
  m: number;
  n: number;
  k: number;
}

export class ShapeError extends Error {
  override name = 'ShapeError';
}

export class Matmul {
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(
    readonly device: GPUDevice,
    readonly tile: MatmulTile = DEFAULT_TILE,
  ) {}

  /** Throws a ShapeError when the shape is invalid or exceeds this device's limits. */
  check({ m, n, k }: MatmulShape): void {
    for (const [name, v] of Object.entries({ m, n, k })) {
      if (!Number.isInteger(v) || v < 1) throw new ShapeError(`matmul: ${name} must be a positive integer, got ${v}`);
    }
    const maxBinding = this.device.limits.maxStorageBufferBindingSize;
    for (const [name, elems] of [['A', m * k], ['B', k * n], ['C', m * n]] as const) {
      if (elems * 4 > maxBinding) {
        throw new ShapeError(`matmul: ${name} needs ${elems * 4} bytes, over this device's maxStorageBufferBindingSize (${maxBinding})`);
      }
    }
    const maxGroups = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (Math.ceil(m / tileM(this.tile)) > maxGroups || Math.ceil(n / tileN(this.tile)) > maxGroups) {
      throw new ShapeError(`matmul: ${m}×${n} output needs more than ${maxGroups} workgroups per dimension`);
    }
  }

  private pipeline(): GPUComputePipeline {
    const key = JSON.stringify(this.tile);
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: matmulWgsl(this.tile), label: `matmul ${key}` });
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** Records C = A·B into `encoder` (A m×k, B k×n, C m×n; row-major f32 buffers). */
  encode(encoder: GPUCommandEncoder, shape: MatmulShape, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer): void {
    this.check(shape);
    const { m, n, k } = shape;
    const pipeline = this.pipeline();
    const dims = uniformU32(this.device, [m, n, k, 0]);
    const bind = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [dims, a, b, c].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(Math.ceil(n / tileN(this.tile)), Math.ceil(m / tileM(this.tile)));
    pass.end();
  }

  /** Uploads A and B, runs, reads C back. */
  async run(shape: MatmulShape, a: Float32Array, b: Float32Array): Promise<Float32Array> {
    this.check(shape);
    const { m, n, k } = shape;
    if (a.length < m * k) throw new ShapeError(`matmul: A has ${a.length} elements, needs m·k = ${m * k}`);
    if (b.length < k * n) throw new ShapeError(`matmul: B has ${b.length} elements, needs k·n = ${k * n}`);
    const ga = uploadF32(this.device, a.subarray(0, m * k));
    const gb = uploadF32(this.device, b.subarray(0, k * n));
    const gc = storageBuffer(this.device, m * n * 4);
    try {
      const enc = this.device.createCommandEncoder();
      this.encode(enc, shape, ga, gb, gc);
      this.device.queue.submit([enc.finish()]);
      return await readF32(this.device, gc, m * n * 4);
    } finally {
      ga.destroy();
      gb.destroy();
      gc.destroy();
    }
  }
}
