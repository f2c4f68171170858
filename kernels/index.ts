// usine kernels: WGSL programs with their host code, usable without the scheduler.
export { openDevice, listAdapters, describeAdapter, adapterLabel, NoAdapterError } from './device.ts';
export type { AdapterDescription, OpenDevice, OpenOptions } from './device.ts';
export { Matmul, ShapeError } from './matmul/matmul.ts';
export type { MatmulSpec, MatmulBuffers, EncodeOptions } from './matmul/matmul.ts';
export { toHalf, fromHalf, roundToHalf } from './matmul/f16.ts';
export type { MatmulShape } from './matmul/matmul.ts';
export { matmulRef, matmulEntry } from './reference.ts';
