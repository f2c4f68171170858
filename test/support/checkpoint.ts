// A small, valid inference checkpoint as a train job writes one (parameters, vocabulary in
// its metadata), for tests that need a checkpoint artifact without training first.
import { encodeCheckpoint } from '../../shared/train/checkpoint.ts';
import { parseModelConfig } from '../../shared/train/model-config.ts';
import { initParameters } from '../../shared/train/parameters.ts';

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
