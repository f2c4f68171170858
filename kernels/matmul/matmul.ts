// Host side of the matmul kernel: validation, config choice, pipeline cache, dispatch, and a
// convenience path for host arrays (upload, run, read back).
import { adapterInfoOf, isSoftwareAdapter } from '../autotune/adapter-key.ts';
import { toHalf, fromHalf } from '../f16.ts';
import {
  configKey,
  matmulWgsl,
  tileM,
  tileN,
  vectorFlags,
  type MatmulConfig,
  type MatmulFlags,
} from './matmul-program.ts';
import { defaultConfig } from './matmul-configs.ts';
import { bytesPerElement, operandSizes, resolveSpec, type MatmulSpec, type ResolvedSpec } from './matmul-spec.ts';
import { ShapeError } from '../errors.ts';
import { quietly } from '../quiet-wait.ts';

export type { MatmulSpec } from './matmul-spec.ts';

export interface MatmulBuffers {
  a: GPUBuffer;
  b: GPUBuffer;
  c: GPUBuffer;
  bias?: GPUBuffer;
}

export interface EncodeOptions {
  /** Forwarded to the compute pass (GPU timing by the benchmark). */
  timestampWrites?: GPUComputePassTimestampWrites;
  /** Run this config instead of the chosen one (tuning). */
  config?: MatmulConfig;
}

/** Picks the tile config for a call; the autotuner provides one. */
export type ConfigChooser = (spec: ResolvedSpec) => MatmulConfig | undefined;

export interface MatmulOptions {
  /** Always use this config. */
  config?: MatmulConfig;
  /** Asked first for each call; undefined falls back to the built-in default. */
  choose?: ConfigChooser;
  /** Software adapter (lavapipe…): changes the built-in default. Detected when not given. */
  software?: boolean;
}

const UNIFORM_CACHE_MAX = 256;

export class Matmul {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly uniforms = new Map<string, GPUBuffer>();
  /** Asked for a config before the built-in default (the autotuner installs itself here). */
  chooser?: ConfigChooser;
  /** Called (and awaited) by `prepare`/`run` before a call: the autotuner tunes on first use. */
  autotune?: (spec: MatmulSpec) => Promise<unknown>;
  private readonly software: boolean;

  constructor(
    readonly device: GPUDevice,
    readonly options: MatmulOptions = {},
  ) {
    this.chooser = options.choose;
    this.software = options.software ?? isSoftwareAdapter(adapterInfoOf(device));
  }

  /** The config a call with this spec would run. */
  configFor(spec: MatmulSpec): MatmulConfig {
    const r = resolveSpec(spec);
    return this.options.config ?? this.chooser?.(r) ?? defaultConfig(r, this.software, this.device);
  }

  /** Whether `prepare` may tune first: an autotuner is attached and knows no config for this spec yet. */
  mayTune(spec: MatmulSpec): boolean {
    return !this.options.config && !!this.autotune && !this.chooser?.(resolveSpec(spec));
  }

  /** Gets ready for calls like `spec` (tunes its shape bucket when an autotuner is attached). */
  async prepare(spec: MatmulSpec): Promise<void> {
    this.check(spec);
    if (!this.options.config) await this.autotune?.(spec);
  }

  /** Throws a ShapeError when the spec is invalid or exceeds this device's limits. */
  check(spec: MatmulSpec, config?: MatmulConfig): ResolvedSpec {
    const r = resolveSpec(spec);
    const lim = this.device.limits;
    if (r.dtype === 'f16' && !this.device.features.has('shader-f16')) {
      throw new ShapeError(
        "matmul: dtype f16 needs the adapter feature 'shader-f16', which this device lacks; use f32",
      );
    }
    const sizes = operandSizes(r);
    const bpe = bytesPerElement(r.dtype);
    for (const [name, elems] of Object.entries(sizes)) {
      if (elems * bpe > lim.maxStorageBufferBindingSize) {
        throw new ShapeError(
          `matmul: ${name.toUpperCase()} needs ${elems * bpe} bytes, over this device's maxStorageBufferBindingSize (${lim.maxStorageBufferBindingSize}); split the batch or the matrix`,
        );
      }
    }
    const cfg = config ?? this.configFor(r);
    const [gx, gy] = this.grid(r, cfg);
    const maxGroups = lim.maxComputeWorkgroupsPerDimension;
    if (gx > maxGroups || gy > maxGroups || r.batch > maxGroups) {
      throw new ShapeError(
        `matmul: ${r.batch}×${r.m}×${r.n} output needs ${gx}×${gy}×${r.batch} workgroups, over this device's ${maxGroups} per dimension`,
      );
    }
    return r;
  }

  private grid(r: ResolvedSpec, cfg: MatmulConfig): [number, number] {
    const cols = Math.ceil(r.n / tileN(cfg));
    const rows = Math.ceil(r.m / tileM(cfg));
    return cfg.swapXY ? [rows, cols] : [cols, rows];
  }

  private flags(r: ResolvedSpec, cfg: MatmulConfig): MatmulFlags {
    return {
      dtype: r.dtype,
      transA: r.transA,
      transB: r.transB,
      ...vectorFlags(cfg, r.n, r.k, r.transA, r.transB),
      bias: r.bias,
      activation: r.activation,
    };
  }

  /** The compiled pipeline for (config, flags), cached. */
  pipeline(cfg: MatmulConfig, fl: MatmulFlags): GPUComputePipeline {
    const key = `${configKey(cfg)}|${JSON.stringify(fl)}`;
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: matmulWgsl(cfg, fl), label: `matmul ${key}` });
      p = this.device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
        label: `matmul ${key}`,
      });
      this.pipelines.set(key, p);
    }
    return p;
  }

  private params(r: ResolvedSpec): GPUBuffer {
    const values = [r.m, r.n, r.k, r.batch, r.broadcastA ? 0 : r.m * r.k, r.broadcastB ? 0 : r.k * r.n, r.m * r.n, 0];
    const key = values.join(',');
    let buf = this.uniforms.get(key);
    if (!buf) {
      if (this.uniforms.size >= UNIFORM_CACHE_MAX) {
        // Drop the oldest; a submitted command buffer keeps its own reference alive.
        const [k0] = this.uniforms.keys();
        this.uniforms.delete(k0);
      }
      buf = this.device.createBuffer({
        size: 32,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        label: 'matmul params',
      });
      this.device.queue.writeBuffer(buf, 0, new Uint32Array(values));
      this.uniforms.set(key, buf);
    }
    return buf;
  }

  /** Records C = act(op(A)·op(B) + bias) into `encoder`, on buffers already on the GPU. */
  encode(encoder: GPUCommandEncoder, spec: MatmulSpec, buffers: MatmulBuffers, opts: EncodeOptions = {}): void {
    const cfg = opts.config ?? this.configFor(spec);
    const r = this.check(spec, cfg);
    const sizes = operandSizes(r);
    const bpe = bytesPerElement(r.dtype);
    for (const name of ['a', 'b', 'c', 'bias'] as const) {
      const buf = buffers[name];
      const need = sizes[name] * bpe;
      if (name === 'bias' && !r.bias) continue;
      if (!buf)
        throw new ShapeError(`matmul: buffer ${name} is missing${name === 'bias' ? ' (spec.bias is set)' : ''}`);
      if (buf.size < need)
        throw new ShapeError(`matmul: buffer ${name} has ${buf.size} bytes, needs ${need} for this spec`);
    }
    const pipeline = this.pipeline(cfg, this.flags(r, cfg));
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.params(r) } },
      { binding: 1, resource: { buffer: buffers.a } },
      { binding: 2, resource: { buffer: buffers.b } },
      { binding: 3, resource: { buffer: buffers.c } },
    ];
    if (r.bias) entries.push({ binding: 4, resource: { buffer: buffers.bias! } });
    const bind = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const pass = encoder.beginComputePass(opts.timestampWrites ? { timestampWrites: opts.timestampWrites } : {});
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(...this.grid(r, cfg), r.batch);
    pass.end();
  }

  /** Creates a storage buffer holding `data` in the spec's dtype (f16 converted on the host). */
  upload(data: Float32Array, dtype: MatmulSpec['dtype'] = 'f32'): GPUBuffer {
    const bytes = dtype === 'f16' ? toHalf(data) : data;
    const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
    const buf = this.device.createBuffer({
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    // writeBuffer wants a multiple of 4 bytes: pad odd f16 counts.
    const padded = bytes.byteLength % 4 ? new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4) : null;
    if (padded) padded.set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const src = padded ?? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.device.queue.writeBuffer(buf, 0, src.buffer, src.byteOffset, src.byteLength);
    return buf;
  }

  /** An output buffer for `elements` values of `dtype`. */
  output(elements: number, dtype: MatmulSpec['dtype'] = 'f32'): GPUBuffer {
    const bytes = elements * bytesPerElement(dtype ?? 'f32');
    return this.device.createBuffer({
      size: Math.max(16, Math.ceil(bytes / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
  }

  /** Reads `elements` values of `dtype` back as f32. */
  async read(buf: GPUBuffer, elements: number, dtype: MatmulSpec['dtype'] = 'f32'): Promise<Float32Array> {
    const bytes = Math.ceil((elements * bytesPerElement(dtype ?? 'f32')) / 4) * 4;
    const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    try {
      const enc = this.device.createCommandEncoder();
      enc.copyBufferToBuffer(buf, 0, staging, 0, bytes);
      this.device.queue.submit([enc.finish()]);
      await quietly(staging.mapAsync(GPUMapMode.READ));
      const raw = staging.getMappedRange().slice(0);
      staging.unmap();
      return dtype === 'f16' ? fromHalf(new Uint16Array(raw, 0, elements)) : new Float32Array(raw, 0, elements);
    } finally {
      staging.destroy();
    }
  }

  /** Uploads A, B (and bias), runs, reads C back (f32 arrays; converted when dtype is f16). */
  async run(
    spec: MatmulSpec,
    a: Float32Array,
    b: Float32Array,
    bias?: Float32Array,
    opts: EncodeOptions = {},
  ): Promise<Float32Array> {
    if (!opts.config) await this.prepare(spec);
    const r = this.check(spec, opts.config);
    const sizes = operandSizes(r);
    if (a.length < sizes.a) throw new ShapeError(`matmul: A has ${a.length} elements, needs ${sizes.a} for this spec`);
    if (b.length < sizes.b) throw new ShapeError(`matmul: B has ${b.length} elements, needs ${sizes.b} for this spec`);
    if (r.bias && (!bias || bias.length < sizes.bias)) {
      throw new ShapeError(`matmul: bias has ${bias?.length ?? 0} elements, needs n = ${sizes.bias}`);
    }
    const ga = this.upload(a.subarray(0, sizes.a), r.dtype);
    const gb = this.upload(b.subarray(0, sizes.b), r.dtype);
    const gbias = r.bias ? this.upload(bias!.subarray(0, sizes.bias), r.dtype) : undefined;
    const gc = this.output(sizes.c, r.dtype);
    try {
      const enc = this.device.createCommandEncoder();
      this.encode(enc, spec, { a: ga, b: gb, c: gc, bias: gbias }, opts);
      this.device.queue.submit([enc.finish()]);
      return await this.read(gc, sizes.c, r.dtype);
    } finally {
      for (const buf of [ga, gb, gc, gbias]) buf?.destroy();
    }
  }
}
