// What callers of the training ops need to know without loading the ops' host code (the
// scheduler checks a job against these at admission): head-dim limits and AdamW's defaults.

/** Largest head dim of the row-per-invocation attention forward (AttentionRows). */
export const MAX_ROWS_HEAD_DIM = 256;
/** Largest head dim of the attention backward (AttentionBackward). */
export const MAX_BACKWARD_HEAD_DIM = 256;

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const DEFAULT_ADAMW: AdamWSettings = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
