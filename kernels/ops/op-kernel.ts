// Mechanics shared by the training ops: pipeline and uniform caches, dispatch, buffer-size
// checks, and the upload/run/read-back convenience that tests use. The ops themselves
// (one per file) only generate WGSL and say which buffers go where.
import { ShapeError } from '../errors.ts';
import { activeProfiler } from './pass-profiler.ts';
import { quietly } from '../quiet-wait.ts';

/** Threads per workgroup of the element-wise and row-wise programs. */
export const WG = 64;

/** A typed array a test can upload. */
export type HostArray = Float32Array | Int32Array | Uint32Array;

/** One field of a uniform struct; the WGSL struct lists the same fields in the same order. */
export type UniformField = { u32: number } | { i32: number } | { f32: number };

export function positiveInt(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new ShapeError(`${op}: ${name} must be a positive integer, got ${v}`);
}

/**
 * Values each invocation of an element-wise program handles. One per invocation leaves
 * lavapipe (a CPU) paying per-invocation overhead: 8 ran about 3× faster there.
 */
export const PER_INVOCATION = 8;

/**
 * The entry point of an element-wise program: the program defines `fn apply(i: u32)` (which
 * ignores i past its end), and each invocation applies it to PER_INVOCATION indices, a
 * workgroup's stride apart (neighbouring invocations touch neighbouring values). A 2-D
 * dispatch (past 65,535 workgroups) folds into one flat index.
 */
export const ELEMENTWISE_MAIN = /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let base = (wg.y * nwg.x + wg.x) * ${WG * PER_INVOCATION}u + li;
  for (var j = 0u; j < ${PER_INVOCATION}u; j++) { apply(base + j * ${WG}u); }
}`;

export class OpKernel {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly uniforms = new Map<string, GPUBuffer>();

  constructor(
    readonly device: GPUDevice,
    readonly op: string,
  ) {}

  /** The compute pipeline of `key`, compiled from `wgsl()` on first use. */
  pipeline(key: string, wgsl: () => string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: wgsl(), label: `${this.op} ${key}` });
      p = this.device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
        label: `${this.op} ${key}`,
      });
      this.pipelines.set(key, p);
    }
    return p;
  }

  /**
   * A uniform buffer holding `fields`, shared by every dispatch with the same values. Only
   * for values that take few distinct values (shapes); per-step values get their own buffer.
   */
  uniform(fields: UniformField[]): GPUBuffer {
    const key = JSON.stringify(fields);
    let buf = this.uniforms.get(key);
    if (!buf) {
      buf = this.device.createBuffer({
        size: Math.max(16, Math.ceil((fields.length * 4) / 16) * 16),
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        label: `${this.op} uniform`,
      });
      this.device.queue.writeBuffer(buf, 0, packUniform(fields));
      this.uniforms.set(key, buf);
    }
    return buf;
  }

  /** Throws a ShapeError when `buffer` is smaller than `elements` 4-byte values. */
  need(name: string, buffer: GPUBuffer, elements: number): void {
    if (buffer.size < elements * 4) {
      throw new ShapeError(
        `${this.op}: ${name} holds ${buffer.size} bytes, needs ${elements * 4} (${elements} values)`,
      );
    }
    if (elements * 4 > this.device.limits.maxStorageBufferBindingSize) {
      throw new ShapeError(
        `${this.op}: ${name} needs ${elements * 4} bytes, over this device's maxStorageBufferBindingSize ` +
          `(${this.device.limits.maxStorageBufferBindingSize})`,
      );
    }
  }

  /** Records one dispatch of an element-wise program (ELEMENTWISE_MAIN) over `elements` indices. */
  dispatchElements(
    encoder: GPUCommandEncoder,
    pipeline: GPUComputePipeline,
    buffers: GPUBuffer[],
    elements: number,
  ): void {
    this.dispatch(encoder, pipeline, buffers, Math.ceil(elements / PER_INVOCATION));
  }

  /** Records one dispatch of `pipeline` with `buffers` bound at 0, 1, 2, … in order. */
  dispatch(
    encoder: GPUCommandEncoder,
    pipeline: GPUComputePipeline,
    buffers: GPUBuffer[],
    groups: number | [number, number],
  ): void {
    const [x, y] = typeof groups === 'number' ? grid(groups, this.device) : groups;
    if (x === 0 || y === 0) return;
    const bind = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const pass = encoder.beginComputePass({
      timestampWrites: activeProfiler()?.writes(`${this.op}: ${pipeline.label.slice(this.op.length + 1)}`),
    });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(x, y);
    pass.end();
  }
}

/** Workgroups for `threads` invocations of WG each, folded into 2-D past the per-dimension limit. */
export function grid(threads: number, device: GPUDevice): [number, number] {
  const groups = Math.ceil(threads / WG);
  const max = device.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [groups, groups > 0 ? 1 : 0];
  const y = Math.ceil(groups / max);
  if (y > max) throw new ShapeError(`${threads} invocations need more than ${max}² workgroups`);
  return [Math.ceil(groups / y), y];
}

function packUniform(fields: UniformField[]): ArrayBuffer {
  const bytes = new ArrayBuffer(Math.max(16, Math.ceil((fields.length * 4) / 16) * 16));
  const view = new DataView(bytes);
  fields.forEach((f, i) => {
    if ('u32' in f) view.setUint32(i * 4, f.u32, true);
    else if ('i32' in f) view.setInt32(i * 4, f.i32, true);
    else view.setFloat32(i * 4, f.f32, true);
  });
  return bytes;
}

/** Host-side runner for the Float32Array conveniences: uploads, runs, reads back, frees. */
export class ArrayRun {
  private readonly owned: GPUBuffer[] = [];
  readonly encoder: GPUCommandEncoder;

  constructor(readonly device: GPUDevice) {
    // Catch a shader that fails to compile or a bad binding as an exception here, instead
    // of a console warning and silent zeros.
    device.pushErrorScope('validation');
    this.scoped = true;
    this.encoder = device.createCommandEncoder();
  }

  private scoped = false;

  private async popScope(): Promise<void> {
    if (!this.scoped) return;
    this.scoped = false;
    const err = await this.device.popErrorScope();
    if (err) throw new Error(`GPU validation error: ${err.message}`);
  }

  upload(data: HostArray): GPUBuffer {
    const buf = this.device.createBuffer({
      size: Math.max(4, data.byteLength),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    this.device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
    this.owned.push(buf);
    return buf;
  }

  output(elements: number): GPUBuffer {
    const buf = this.device.createBuffer({
      size: Math.max(4, elements * 4),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    this.owned.push(buf);
    return buf;
  }

  /** Submits what was encoded and reads `outputs` back as Float32Arrays, then frees every buffer. */
  async finish(outputs: { buffer: GPUBuffer; elements: number }[]): Promise<Float32Array[]> {
    const staging = outputs.map(({ elements }) =>
      this.device.createBuffer({
        size: Math.max(4, elements * 4),
        usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
      }),
    );
    outputs.forEach(({ buffer, elements }, i) => {
      if (elements > 0) this.encoder.copyBufferToBuffer(buffer, 0, staging[i], 0, elements * 4);
    });
    this.device.queue.submit([this.encoder.finish()]);
    try {
      await this.popScope();
      return await Promise.all(
        staging.map(async (s, i) => {
          await quietly(s.mapAsync(GPUMapMode.READ));
          const out = new Float32Array(s.getMappedRange().slice(0, outputs[i].elements * 4));
          s.unmap();
          return out;
        }),
      );
    } finally {
      for (const b of [...staging, ...this.owned]) b.destroy();
    }
  }

  /** Frees every buffer without running (after a shape error). */
  abandon(): void {
    void this.popScope().catch(() => {});
    for (const b of this.owned) b.destroy();
  }
}

/** Runs `body` with an ArrayRun, freeing its buffers whether it throws or not. */
export async function withArrays<T>(device: GPUDevice, body: (run: ArrayRun) => Promise<T>): Promise<T> {
  const run = new ArrayRun(device);
  try {
    return await body(run);
  } catch (e) {
    run.abandon();
    throw e;
  }
}
