// usine kernels: WGSL programs with their host code, usable without the scheduler.
export { openDevice, listAdapters, describeAdapter, adapterLabel, NoAdapterError } from './device.ts';
export type { AdapterDescription, OpenDevice, OpenOptions } from './device.ts';
export { Matmul, ShapeError } from './matmul/matmul.ts';
export type { MatmulShape } from './matmul/matmul.ts';
export { matmulRef, matmulEntry } from './reference.ts';
export { Attention, tensorBytes } from './attention/attention.ts';
export type { AttentionOptions, AttentionBuffers, AttentionResult } from './attention/attention.ts';
export type { AttentionShape } from './attention/attention-shape.ts';
export { attentionFlops } from './attention/attention-shape.ts';
export { attentionRef } from './attention/reference.ts';
