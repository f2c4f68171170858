// Times one compute pass: GPU timestamps when the device has 'timestamp-query' (Dawn's
// quantisation is disabled in kernels/device.ts), else wall time around submit and
// onSubmittedWorkDone.
import { quietly } from './quiet-wait.ts';

export class GpuTimer {
  private readonly querySet?: GPUQuerySet;
  private readonly resolve?: GPUBuffer;
  private readonly readback?: GPUBuffer;

  constructor(
    readonly device: GPUDevice,
    useTimestamps = true,
  ) {
    if (useTimestamps && device.features.has('timestamp-query')) {
      this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
      this.resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      this.readback = device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    }
  }

  get timing(): 'gpu' | 'wall' {
    return this.querySet ? 'gpu' : 'wall';
  }

  /**
   * Runs what `record` encodes and returns milliseconds. `record` must pass `timestampWrites`
   * (when given) to its one compute pass.
   */
  async time(
    record: (enc: GPUCommandEncoder, timestampWrites?: GPUComputePassTimestampWrites) => void,
  ): Promise<number> {
    const enc = this.device.createCommandEncoder();
    if (!this.querySet) {
      record(enc);
      const t0 = performance.now();
      this.device.queue.submit([enc.finish()]);
      await quietly(this.device.queue.onSubmittedWorkDone());
      return performance.now() - t0;
    }
    record(enc, { querySet: this.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 });
    enc.resolveQuerySet(this.querySet, 0, 2, this.resolve!, 0);
    enc.copyBufferToBuffer(this.resolve!, 0, this.readback!, 0, 16);
    this.device.queue.submit([enc.finish()]);
    await quietly(this.readback!.mapAsync(GPUMapMode.READ));
    const [t0, t1] = new BigUint64Array(this.readback!.getMappedRange().slice(0));
    this.readback!.unmap();
    return Number(t1 - t0) / 1e6;
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolve?.destroy();
    this.readback?.destroy();
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}
