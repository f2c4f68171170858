// A character-level dataset from a text: the vocabulary is the text's characters, batches
// are random windows. The last `heldOutFraction` of the text is held out, and windows of
// each split lie wholly inside it, so no character is shared between the splits.
import type { Batch, Dataset, Split } from './batch.ts';
import { Vocabulary } from './vocabulary.ts';

export interface CharDatasetOptions {
  /** Tokens per window. */
  seqLen: number;
  heldOutFraction?: number;
}

export class CharDataset implements Dataset {
  readonly vocab: Vocabulary;
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly ids: Int32Array;
  /** Held-out text starts at this index. */
  readonly splitAt: number;

  constructor(text: string, o: CharDatasetOptions) {
    const chars = Array.from(text);
    this.vocab = new Vocabulary([...new Set(chars)].sort());
    this.vocabSize = this.vocab.size;
    this.seqLen = o.seqLen;
    if (!Number.isInteger(o.seqLen) || o.seqLen < 1)
      throw new Error(`char dataset: seqLen must be a positive integer, got ${o.seqLen}`);
    const frac = o.heldOutFraction ?? 0.1;
    if (!(frac > 0 && frac < 1)) throw new Error(`char dataset: heldOutFraction must be in (0, 1), got ${frac}`);
    this.ids = Int32Array.from(this.vocab.encode(text));
    this.splitAt = Math.floor(chars.length * (1 - frac));
    // Each split needs one window of seqLen inputs plus the next token.
    for (const [name, len] of [
      ['training', this.splitAt],
      ['held-out', chars.length - this.splitAt],
    ] as const) {
      if (len < o.seqLen + 1) {
        throw new Error(
          `char dataset: the ${name} part has ${len} characters, fewer than seqLen + 1 = ${o.seqLen + 1}; give a longer text or a shorter seqLen`,
        );
      }
    }
  }

  batch(random: () => number, batchSize: number, split: Split): Batch {
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`batch size must be a positive integer, got ${batchSize}`);
    const T = this.seqLen;
    const [lo, hi] = split === 'train' ? [0, this.splitAt] : [this.splitAt, this.ids.length];
    const starts = hi - lo - T; // window [s, s + T] inclusive of the last target
    const inputs = new Int32Array(batchSize * T);
    const targets = new Int32Array(batchSize * T);
    for (let b = 0; b < batchSize; b++) {
      const s = lo + Math.floor(random() * starts);
      inputs.set(this.ids.subarray(s, s + T), b * T);
      targets.set(this.ids.subarray(s + 1, s + T + 1), b * T);
    }
    return { batchSize, seqLen: T, inputs, targets };
  }
}
