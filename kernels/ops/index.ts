// Training ops: WGSL programs with host code that encodes into a GPUCommandEncoder on
// GPUBuffers (plus run*() conveniences on host arrays for tests).
export { Embedding, tokenIndex } from './embedding.ts';
export type { EmbeddingShape, TokenIndex } from './embedding.ts';
export { LayerNorm } from './layer-norm.ts';
export type { LayerNormShape, LayerNormForwardBuffers, LayerNormBackwardBuffers } from './layer-norm.ts';
export { Gelu } from './gelu.ts';
export { CrossEntropy } from './cross-entropy.ts';
export type { CrossEntropyShape, CrossEntropyForwardBuffers } from './cross-entropy.ts';
export { ResidualAdd } from './residual-add.ts';
export { AdamW } from './adamw.ts';
export type { AdamWBuffers } from './adamw.ts';
export { DEFAULT_ADAMW, MAX_BACKWARD_HEAD_DIM, MAX_ROWS_HEAD_DIM } from './limits.ts';
export type { AdamWSettings } from './limits.ts';
export { GradNorm, CLIP_SCALE_INDEX, GRAD_NORM_RESULT_VALUES } from './grad-norm.ts';
export type { GradSlice } from './grad-norm.ts';
export { ArrayRun, withArrays } from './op-kernel.ts';
export { HeadLayout } from './head-layout.ts';
export type { HeadShape } from './head-layout.ts';
export { Bias } from './bias.ts';
export type { BiasShape } from './bias.ts';
export { AttentionBackward } from './attention-backward.ts';
export type { AttentionBackwardShape, AttentionBackwardBuffers } from './attention-backward.ts';
export { SampleTokens } from './sample-tokens.ts';
export type { SampleShape } from './sample-tokens.ts';
export { AttentionRows } from './attention-rows.ts';
export type { AttentionRowsShape } from './attention-rows.ts';
export { KvCache } from './kv-cache.ts';
export type { KvCacheShape } from './kv-cache.ts';
