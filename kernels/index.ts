// usine kernels: WGSL programs with their host code, usable without the scheduler.
export { openDevice, listAdapters, describeAdapter, adapterLabel, NoAdapterError } from './device.ts';
export type { AdapterDescription, OpenDevice, OpenOptions } from './device.ts';
export { quietly } from './quiet-wait.ts';
export { InputError, ShapeError } from './errors.ts';
export { Matmul } from './matmul/matmul.ts';
export type { MatmulSpec, MatmulBuffers, EncodeOptions } from './matmul/matmul.ts';
export { toHalf, fromHalf, roundToHalf } from './f16.ts';
export type { MatmulConfig, MatmulDtype, Activation } from './matmul/matmul-program.ts';
export { TUNING_SPACE } from './matmul/matmul-configs.ts';
export { MatmulTuner, shapeBucket } from './autotune/matmul-tuner.ts';
export { TuningStore } from './autotune/tuning-store.ts';
export { matmulRef, matmulEntry, matmulRefGeneral, matmulEntryGeneral, matmulTolerance } from './reference.ts';
export { Attention, tensorBytes } from './attention/attention.ts';
export type { AttentionOptions, AttentionBuffers, AttentionResult } from './attention/attention.ts';
export type { AttentionShape } from './attention/attention-shape.ts';
export { attentionFlops } from './attention/attention-shape.ts';
export { attentionRef } from './attention/reference.ts';
