// The kernels a web page can load: everything here runs on a browser's `navigator.gpu` device
// and imports nothing of Node's (no Dawn, no files, no child processes). kernels/index.ts is
// the Node entry; test/console/browser-bundle.test.ts checks that this one stays clean.
export { Matmul } from './matmul/matmul.ts';
export type { MatmulSpec } from './matmul/matmul.ts';
export { Attention } from './attention/attention.ts';
export type { AttentionShape } from './attention/attention-shape.ts';
export { matmulRef, matmulTolerance } from './reference.ts';
export { attentionRef } from './attention/reference.ts';
export { roundToHalf } from './f16.ts';
export { randomMatrix } from './random.ts';
export { adapterInfoOf, isSoftwareAdapter } from './autotune/adapter-key.ts';
export { GpuTimer } from './gpu-timer.ts';
export { runKernel, totalTicks } from './bench/runner.ts';
export type { BenchContext, BenchDtype, BenchKernel, BenchResult, Timing } from './bench/types.ts';
export { matmulBenchKernel, usineMatmulImpl, type MatmulBenchShape } from './matmul/matmul-bench-kernel.ts';
export {
  attentionBenchKernel,
  usineAttentionImpl,
  type AttentionBenchShape,
} from './attention/attention-bench-kernel.ts';
