// GPU time per op from timestamp queries: while a profiler is active, every training-op
// dispatch (OpKernel) writes begin/end timestamps of its pass, and read() sums them per op.
// Passes recorded by other code (the matmul kernel) are not timed; the difference to the
// step's wall time is theirs plus dispatch overhead.
import { quietly } from '../quiet-wait.ts';

const current: { profiler: PassProfiler | null } = { profiler: null };

export function activeProfiler(): PassProfiler | null {
  return current.profiler;
}

export interface PassTime {
  passes: number;
  ms: number;
}

export class PassProfiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolve: GPUBuffer;
  private labels: string[] = [];

  constructor(
    readonly device: GPUDevice,
    readonly capacity = 2048,
  ) {
    if (!device.features.has('timestamp-query'))
      throw new Error('pass profiler: this device lacks the timestamp-query feature');
    this.querySet = device.createQuerySet({ type: 'timestamp', count: capacity * 2 });
    this.resolve = device.createBuffer({
      size: capacity * 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
  }

  /** Starts recording (clears earlier records). */
  start(): void {
    this.labels = [];
    current.profiler = this;
  }

  stop(): void {
    if (current.profiler === this) current.profiler = null;
  }

  /** Timestamp writes for the next pass of `label`; undefined once the capacity is used. */
  writes(label: string): GPUComputePassTimestampWrites | undefined {
    if (this.labels.length >= this.capacity) return undefined;
    const i = this.labels.length;
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** GPU milliseconds per label over the passes recorded since start() (their work must be submitted). */
  async read(): Promise<Map<string, PassTime>> {
    const n = this.labels.length;
    const out = new Map<string, PassTime>();
    if (n === 0) return out;
    const staging = this.device.createBuffer({
      size: n * 16,
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
    });
    const enc = this.device.createCommandEncoder();
    enc.resolveQuerySet(this.querySet, 0, 2 * n, this.resolve, 0);
    enc.copyBufferToBuffer(this.resolve, 0, staging, 0, n * 16);
    this.device.queue.submit([enc.finish()]);
    await quietly(staging.mapAsync(GPUMapMode.READ));
    const ts = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    this.labels.forEach((label, i) => {
      const ms = Number(ts[2 * i + 1] - ts[2 * i]) / 1e6;
      const t = out.get(label) ?? { passes: 0, ms: 0 };
      t.passes++;
      t.ms += ms;
      out.set(label, t);
    });
    return out;
  }

  destroy(): void {
    this.stop();
    this.querySet.destroy();
    this.resolve.destroy();
  }
}
