// Does a model config, at a batch size, fit a device? Checked before a training job starts
// (and at admission, against the worker's reported limits), so an oversized model is refused
// with a reason instead of failing inside a kernel.
import { MAX_BACKWARD_HEAD_DIM, MAX_ROWS_HEAD_DIM } from '../../kernels/ops/limits.ts';
import { headDim, type ModelConfig } from './model-config.ts';
import { parameterCount } from './parameters.ts';

export interface DeviceLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

/** The problems (empty when it fits) of training `c` with `batchSize` sequences of `seqLen`. */
export function deviceFitProblems(c: ModelConfig, batchSize: number, seqLen: number, limits: DeviceLimits): string[] {
  const problems: string[] = [];
  const hd = headDim(c);
  const maxHd = Math.min(MAX_BACKWARD_HEAD_DIM, MAX_ROWS_HEAD_DIM);
  if (hd > maxHd) problems.push(`head dimension ${hd} (dModel / heads) is over the attention kernels' ${maxHd}`);
  const N = batchSize * seqLen;
  const maxBinding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const largest: [string, number][] = [
    ['logits (batch · seqLen · vocab)', N * c.vocabSize],
    ['MLP activations (batch · seqLen · dFF)', N * c.dFF],
    ['QKV activations (batch · seqLen · 3 · dModel)', N * 3 * c.dModel],
    ['token embedding (vocab · dModel)', c.vocabSize * c.dModel],
    ['MLP weight (dModel · dFF)', c.dModel * c.dFF],
  ];
  for (const [what, elements] of largest) {
    if (elements * 4 > maxBinding)
      problems.push(
        `${what} needs ${elements * 4} bytes, over this device's ${maxBinding}-byte buffer limit; use a smaller batch or model`,
      );
  }
  return problems;
}

/** Bytes of parameters, gradients and both AdamW moments. */
export function trainingStateBytes(c: ModelConfig): number {
  return parameterCount(c) * 4 * 4;
}
