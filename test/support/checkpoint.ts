// Checkpoints for tests: a small, valid inference checkpoint as a train job writes one
// (parameters, vocabulary in its metadata) for tests that need one without training first,
// and an in-memory checkpoint store for train runs.
import { encodeCheckpoint } from '../../shared/train/checkpoint.ts';
import { parseModelConfig } from '../../shared/train/model-config.ts';
import { initParameters } from '../../shared/train/parameters.ts';
import type { CheckpointStore } from '../../worker/train/train-run.ts';

/** The checkpoint's tokens: digits and `=`, one character each. */
export const TINY_VOCABULARY = [...'0123456789='];

export function tinyCheckpoint(): Uint8Array {
  const config = parseModelConfig({
    vocabSize: TINY_VOCABULARY.length,
    contextLength: 16,
    layers: 1,
    dModel: 8,
    heads: 2,
    dFF: 16,
  });
  return encodeCheckpoint({
    config,
    step: 1,
    dataSeed: 1,
    optimizer: { name: 'adamw', beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0 },
    params: initParameters(config, 1),
    extra: { vocabulary: JSON.stringify(TINY_VOCABULARY) },
  });
}

/** The artifact store's role for a train run, in memory: every checkpoint saved, newest last. */
export class MemoryStore implements CheckpointStore {
  readonly saved: { step: number; bytes: Uint8Array; final: boolean }[] = [];
  async latest() {
    return this.saved.at(-1)?.bytes ?? null;
  }
  async save(step: number, bytes: Uint8Array, final: boolean) {
    this.saved.push({ step, bytes, final });
  }
}
