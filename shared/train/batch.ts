// What a dataset hands the trainer: next-token pairs, masked where the loss should not count.

export type Split = 'train' | 'heldOut';

export interface Batch {
  batchSize: number;
  /** Tokens per sequence (the model's context for this batch). */
  seqLen: number;
  /** batchSize × seqLen token ids, row-major. */
  inputs: Int32Array;
  /** batchSize × seqLen next-token ids; −1 where the loss ignores the position. */
  targets: Int32Array;
}

export interface Dataset {
  readonly vocabSize: number;
  /** Tokens per training sequence: the smallest context a model for this data needs. */
  readonly seqLen: number;
  /** A batch drawn with `random` (uniform in [0, 1)) from one split. */
  batch(random: () => number, batchSize: number, split: Split): Batch;
}
