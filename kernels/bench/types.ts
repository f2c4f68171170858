// What a kernel plugs into the benchmark: its sizes, and the implementations to time.
import type { GpuTimer } from '../gpu-timer.ts';

export type ImplName = 'usine' | 'naive' | 'ort' | 'tfjs';
export type BenchDtype = 'f32' | 'f16';

/**
 * How a figure was taken: 'gpu' = timestamp-query around our pass; 'wall' = wall time around
 * submit + onSubmittedWorkDone (inputs already on the GPU); 'wall+io' = wall time of a whole
 * call from host arrays to host arrays (upload, run, read back), how ORT is timed; 'wall+read' =
 * inputs already on the GPU, wall time of run + read back, how TF.js is timed.
 */
export type Timing = 'gpu' | 'wall' | 'wall+io' | 'wall+read';

/**
 * The device a benchmark runs on: what kernels/device.ts opens through Dawn in Node, or a
 * browser's `navigator.gpu` device (so this file names no Node-only type).
 */
export interface BenchGpu {
  device: GPUDevice;
  info: { software: boolean };
}

export interface BenchContext {
  gpu: BenchGpu;
  timer: GpuTimer;
  dtype: BenchDtype;
  /** Run the autotuner before measuring (`--tune`). */
  tune: boolean;
  /** Folder with tuning results. */
  tuningDir: string;
  /** Runs the runner will ask of each PreparedRun (baselines in child processes do them all at once). */
  warmup: number;
  repeats: number;
  log: (line: string) => void;
}

/** One prepared measurement: each call runs once and returns milliseconds. */
export interface PreparedRun {
  timing: Timing;
  run(): Promise<number>;
  dispose(): Promise<void> | void;
  /** Said next to the figure (e.g. the config chosen). */
  note?: string;
}

export interface BenchImpl<S> {
  impl: ImplName;
  /** Why this impl cannot run this case, or undefined when it can. */
  unsupported?(shape: S, ctx: BenchContext): string | undefined;
  /** One impl may give several figures (e.g. GPU time and wall time with transfers). */
  prepare(shape: S, ctx: BenchContext): Promise<PreparedRun[]>;
}

export interface BenchKernel<S extends object = object> {
  name: string;
  /** Used when --sizes is not given. */
  defaultSizes: string[];
  /** Sizes syntax, for --help. */
  sizesHelp: string;
  parseSize(text: string): S;
  describe(shape: S): string;
  flops(shape: S): number;
  impls: BenchImpl<S>[];
}

export interface BenchResult {
  kernel: string;
  impl: ImplName;
  dtype: BenchDtype;
  shape: object;
  timing: Timing;
  /** Median over the repeats. */
  ms: number;
  gflops: number;
  /** Fastest repeat (on a busy machine the median wanders; the minimum less). */
  minMs: number;
  repeats: number;
  note?: string;
}
