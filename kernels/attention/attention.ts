// Host side of fused attention: shape and buffer checks, pipeline cache, dispatch, and a
// convenience path on host arrays (upload, run, read back).
import { ShapeError } from '../errors.ts';
import {
  attentionWgsl,
  packParams,
  PARAMS_BYTES,
  rowsPerWorkgroup,
  workgroupBytes,
  type AttentionDtype,
  type AttentionTile,
} from './attention-program.ts';
import { kvElements, lseElements, MAX_HEAD_DIM, qElements, type AttentionShape } from './attention-shape.ts';
import { attentionSubgroupWgsl } from './attention-subgroup-program.ts';
import { attentionCaps, attentionTileFor, type AttentionCaps } from './attention-tuning.ts';
import { toHalf, fromHalf } from '../f16.ts';
import { quietly } from '../quiet-wait.ts';

export interface AttentionOptions {
  /** Bottom-right aligned causal mask: query i sees key j iff j ≤ i + seqK − seqQ. */
  causal?: boolean;
  /** Multiplies Q·Kᵀ; defaults to 1/√headDim. */
  scale?: number;
  /** Element type of Q, K, V and O (LSE is always f32). f16 needs the `shader-f16` feature. */
  dtype?: AttentionDtype;
}

export interface AttentionEncodeOptions extends AttentionOptions {
  /** Timestamp writes for the compute pass (benchmarks). */
  timestampWrites?: GPUComputePassTimestampWrites;
}

export interface AttentionBuffers {
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  out: GPUBuffer;
  /** When given, receives the natural log-sum-exp of each query row ([batch, heads, seqQ], f32). */
  lse?: GPUBuffer;
}

export interface AttentionResult {
  out: Float32Array;
  lse?: Float32Array;
}

/** Bytes a tensor of `elements` takes in storage (f16 rounded up to whole 4-byte words). */
export function tensorBytes(elements: number, dtype: AttentionDtype): number {
  return dtype === 'f16' ? Math.ceil(elements / 2) * 4 : elements * 4;
}

interface Plan {
  tile: AttentionTile;
  groupsX: number;
  groupsY: number;
  groupsZ: number;
}

type TileChoice = (headDim: number, dtype: AttentionDtype, caps: AttentionCaps) => AttentionTile;

export class Attention {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly tileFor: TileChoice;
  private readonly caps: AttentionCaps;

  constructor(
    readonly device: GPUDevice,
    opts: { tile?: AttentionTile | TileChoice } = {},
  ) {
    const t = opts.tile;
    this.tileFor =
      typeof t === 'function' ? t : t ? () => t : (headDim, _dtype, caps) => attentionTileFor(headDim, caps);
    this.caps = attentionCaps(device);
  }

  /** Throws a ShapeError when the shape or options are invalid or exceed this device's limits. */
  check(shape: AttentionShape, opts: AttentionOptions = {}): void {
    this.plan(shape, opts);
  }

  private plan(shape: AttentionShape, opts: AttentionOptions): Plan {
    const { batch: b, heads: h, seqQ: sq, seqK: sk, headDim: hd } = shape;
    for (const [name, v] of Object.entries({ batch: b, heads: h, seqQ: sq, seqK: sk, headDim: hd })) {
      if (!Number.isInteger(v) || v < 1)
        throw new ShapeError(`attention: ${name} must be a positive integer, got ${v}`);
    }
    const { headDim, batch, heads, seqQ } = shape;
    if (headDim > MAX_HEAD_DIM)
      throw new ShapeError(`attention: headDim ${headDim} is over the supported maximum ${MAX_HEAD_DIM}`);
    if (opts.scale !== undefined && !Number.isFinite(opts.scale))
      throw new ShapeError(`attention: scale must be finite, got ${opts.scale}`);
    const dtype = opts.dtype ?? 'f32';
    if (dtype === 'f16' && !this.device.features.has('shader-f16')) {
      throw new ShapeError(
        "attention: dtype f16 needs the device feature 'shader-f16', which this device lacks (use f32)",
      );
    }
    const lim = this.device.limits;
    const maxBinding = Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize);
    for (const [name, elems] of [
      ['Q/O', qElements(shape)],
      ['K/V', kvElements(shape)],
    ] as const) {
      const bytes = tensorBytes(elems, dtype);
      if (bytes > maxBinding) {
        throw new ShapeError(
          `attention: ${name} needs ${bytes} bytes, over this device's storage binding limit (${maxBinding}); split the batch`,
        );
      }
    }
    let tile = this.tileFor(headDim, dtype, this.caps);
    // A subgroup tile needs the feature and a subgroup at least as wide as its workgroup.
    if (tile.kv === 'subgroup' && tile.workgroupSize > this.caps.subgroupMinSize) tile = attentionTileFor(headDim);
    if (workgroupBytes(headDim, tile) > lim.maxComputeWorkgroupStorageSize) tile = { ...tile, kv: 'storage' };
    if (
      tile.workgroupSize > lim.maxComputeInvocationsPerWorkgroup ||
      tile.workgroupSize > lim.maxComputeWorkgroupSizeX
    ) {
      throw new ShapeError(`attention: workgroup size ${tile.workgroupSize} is over this device's limit`);
    }
    const maxGroups = lim.maxComputeWorkgroupsPerDimension;
    const groupsX = Math.ceil(seqQ / rowsPerWorkgroup(tile));
    const bh = batch * heads;
    const groupsY = Math.min(bh, maxGroups);
    const groupsZ = Math.ceil(bh / groupsY);
    if (groupsX > maxGroups || groupsZ > maxGroups) {
      throw new ShapeError(
        `attention: seqQ ${seqQ} × batch·heads ${bh} needs more workgroups than this device allows (${maxGroups} per dimension)`,
      );
    }
    return { tile, groupsX, groupsY, groupsZ };
  }

  private pipeline(
    headDim: number,
    dtype: AttentionDtype,
    causal: boolean,
    lse: boolean,
    tile: AttentionTile,
  ): GPUComputePipeline {
    const spec = { headDim, dtype, causal, lse, tile };
    const key = JSON.stringify(spec);
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({
        code: tile.kv === 'subgroup' ? attentionSubgroupWgsl(spec) : attentionWgsl(spec),
        label: `attention ${key}`,
      });
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.pipelines.set(key, p);
    }
    return p;
  }

  private checkBuffers(shape: AttentionShape, dtype: AttentionDtype, b: AttentionBuffers): void {
    const need: [string, GPUBuffer | undefined, number][] = [
      ['q', b.q, tensorBytes(qElements(shape), dtype)],
      ['k', b.k, tensorBytes(kvElements(shape), dtype)],
      ['v', b.v, tensorBytes(kvElements(shape), dtype)],
      ['out', b.out, tensorBytes(qElements(shape), dtype)],
      ['lse', b.lse, lseElements(shape) * 4],
    ];
    for (const [name, buf, bytes] of need) {
      if (!buf) continue;
      if (buf.size < bytes) throw new ShapeError(`attention: buffer ${name} has ${buf.size} bytes, needs ${bytes}`);
      if (!(buf.usage & GPUBufferUsage.STORAGE)) throw new ShapeError(`attention: buffer ${name} lacks STORAGE usage`);
    }
    // A buffer bound both read-only and writable in one dispatch is a validation error.
    for (const w of [b.out, b.lse]) {
      if (w && [b.q, b.k, b.v].includes(w)) throw new ShapeError('attention: out/lse must not alias q, k or v');
    }
    if (b.lse && b.lse === b.out) throw new ShapeError('attention: lse must not alias out');
  }

  /** Records the attention into `encoder`; the buffers hold [b, h, seq, d] row-major tensors of `dtype`. */
  encode(
    encoder: GPUCommandEncoder,
    shape: AttentionShape,
    buffers: AttentionBuffers,
    opts: AttentionEncodeOptions = {},
  ): void {
    const plan = this.plan(shape, opts);
    const dtype = opts.dtype ?? 'f32';
    this.checkBuffers(shape, dtype, buffers);
    const lse = buffers.lse !== undefined;
    const pipeline = this.pipeline(shape.headDim, dtype, opts.causal ?? false, lse, plan.tile);
    const params = this.device.createBuffer({
      size: PARAMS_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const bh = shape.batch * shape.heads;
    const scale = opts.scale ?? 1 / Math.sqrt(shape.headDim);
    this.device.queue.writeBuffer(
      params,
      0,
      packParams({ seqQ: shape.seqQ, seqK: shape.seqK, bh, groupsY: plan.groupsY, scale, headDim: shape.headDim }),
    );
    const bound = [params, buffers.q, buffers.k, buffers.v, buffers.out, ...(lse ? [buffers.lse!] : [])];
    const bind = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: bound.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const pass = encoder.beginComputePass(opts.timestampWrites ? { timestampWrites: opts.timestampWrites } : {});
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(plan.groupsX, plan.groupsY, plan.groupsZ);
    pass.end();
  }

  /** Uploads Q, K, V (f32 on the host; converted when dtype is f16), runs, reads O (and LSE) back. */
  async run(
    shape: AttentionShape,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    opts: AttentionOptions & { lse?: boolean } = {},
  ): Promise<AttentionResult> {
    this.check(shape, opts);
    const dtype = opts.dtype ?? 'f32';
    const nq = qElements(shape);
    const nkv = kvElements(shape);
    for (const [name, a, n] of [
      ['Q', q, nq],
      ['K', k, nkv],
      ['V', v, nkv],
    ] as const) {
      if (a.length < n) throw new ShapeError(`attention: ${name} has ${a.length} elements, needs ${n}`);
    }
    const dev = this.device;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    const upload = (a: Float32Array, n: number) => {
      const data = dtype === 'f16' ? toHalf(a.subarray(0, n), true) : a.subarray(0, n);
      const buf = dev.createBuffer({ size: tensorBytes(n, dtype), usage });
      dev.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
      return buf;
    };
    const bufs: AttentionBuffers = {
      q: upload(q, nq),
      k: upload(k, nkv),
      v: upload(v, nkv),
      out: dev.createBuffer({ size: tensorBytes(nq, dtype), usage }),
      lse: opts.lse ? dev.createBuffer({ size: lseElements(shape) * 4, usage }) : undefined,
    };
    const staging: GPUBuffer[] = [];
    try {
      const enc = dev.createCommandEncoder();
      this.encode(enc, shape, bufs, opts);
      const readBack = (src: GPUBuffer) => {
        const s = dev.createBuffer({ size: src.size, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
        enc.copyBufferToBuffer(src, 0, s, 0, src.size);
        staging.push(s);
        return s;
      };
      const outS = readBack(bufs.out);
      const lseS = bufs.lse ? readBack(bufs.lse) : undefined;
      dev.queue.submit([enc.finish()]);
      // Quietly: dawn.node would otherwise spin a core polling, taken from lavapipe's shader threads.
      await quietly(Promise.all(staging.map((s) => s.mapAsync(GPUMapMode.READ))));
      const raw = outS.getMappedRange();
      const out = dtype === 'f16' ? fromHalf(new Uint16Array(raw), nq) : new Float32Array(raw.slice(0, nq * 4));
      const lse = lseS ? new Float32Array(lseS.getMappedRange().slice(0, lseElements(shape) * 4)) : undefined;
      return { out, lse };
    } finally {
      for (const b of [...Object.values(bufs), ...staging]) (b as GPUBuffer | undefined)?.destroy();
    }
  }
}
