// KV cache for decoding: the keys and values of one new position, [B, H, 1, hd], written
// into a cache [B, H, capacity, hd] at row `position`, where attention (with kvRows =
// capacity) reads the first position + 1 rows.
import { OpKernel, WG, positiveInt, withArrays } from './op-kernel.ts';
import { ShapeError } from '../errors.ts';

export function kvCacheWriteWgsl(): string {
  return /* wgsl */ `
struct Dims { bh: u32, headDim: u32, capacity: u32, position: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> cache: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= dims.bh * dims.headDim) { return; }
  let h = i / dims.headDim;
  let e = i % dims.headDim;
  cache[(h * dims.capacity + dims.position) * dims.headDim + e] = src[i];
}`;
}

export interface KvCacheShape {
  batch: number;
  heads: number;
  headDim: number;
  /** Positions the cache holds. */
  capacity: number;
}

export class KvCache {
  private readonly k: OpKernel;

  constructor(readonly device: GPUDevice) {
    this.k = new OpKernel(device, 'kv cache');
  }

  /** cache[b, h, position, :] = src[b, h, 0, :]. */
  write(encoder: GPUCommandEncoder, s: KvCacheShape, position: number, b: { src: GPUBuffer; cache: GPUBuffer }): void {
    for (const key of ['batch', 'heads', 'headDim', 'capacity'] as const) positiveInt('kv cache', key, s[key]);
    if (!Number.isInteger(position) || position < 0 || position >= s.capacity) {
      throw new ShapeError(`kv cache: position ${position} is outside the cache's ${s.capacity} positions`);
    }
    const bh = s.batch * s.heads;
    this.k.need('src', b.src, bh * s.headDim);
    this.k.need('cache', b.cache, bh * s.capacity * s.headDim);
    const u = this.k.uniform([{ u32: bh }, { u32: s.headDim }, { u32: s.capacity }, { u32: position }]);
    this.k.dispatch(encoder, this.k.pipeline('write', kvCacheWriteWgsl), [u, b.src, b.cache], bh * s.headDim);
  }

  async runWrite(s: KvCacheShape, position: number, src: Float32Array, cache: Float32Array): Promise<Float32Array> {
    return withArrays(this.device, async (run) => {
      const c = run.upload(cache);
      this.write(run.encoder, s, position, { src: run.upload(src), cache: c });
      return (await run.finish([{ buffer: c, elements: cache.length }]))[0];
    });
  }
}
