// The decoder-only transformer's configuration, validated at the edge (job submit,
// checkpoint load): heads divide d_model, sizes within bounds, data that fits the model.
import { z } from 'zod';
import { InputError } from '../../kernels/errors.ts';

/** Largest context a model may have: attention and position tables grow with it. */
export const MAX_CONTEXT = 4096;

const int = (min: number, max: number) =>
  z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

export const modelConfig = z
  .object({
    vocabSize: int(2, 65536),
    /** Positions the model has (rows of the position embedding); sequences may be shorter. */
    contextLength: int(1, MAX_CONTEXT),
    layers: int(1, 64),
    dModel: int(1, 8192),
    heads: int(1, 128),
    /** Width of the MLP's hidden layer (usually 4 · dModel). */
    dFF: int(1, 32768),
    /** LayerNorm's variance epsilon. */
    lnEps: z.number().gt(0).max(1).default(1e-5),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.dModel % c.heads !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['heads'],
        message: `must divide dModel: ${c.heads} heads do not divide dModel ${c.dModel}`,
      });
    }
  });

export type ModelConfig = z.output<typeof modelConfig>;
export type ModelConfigInput = z.input<typeof modelConfig>;

export class ModelConfigError extends InputError {
  override name = 'ModelConfigError';
}

/** Parses and validates a config; throws ModelConfigError with one line per problem. */
export function parseModelConfig(input: unknown): ModelConfig {
  const r = modelConfig.safeParse(input);
  if (!r.success) {
    throw new ModelConfigError(
      `bad model config: ${r.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`).join('; ')}`,
    );
  }
  return r.data;
}

export function headDim(c: ModelConfig): number {
  return c.dModel / c.heads;
}

/** Throws when data with `vocabSize` tokens and sequences of `seqLen` does not fit the model. */
export function checkDataFits(c: ModelConfig, data: { vocabSize: number; seqLen: number }): void {
  if (data.seqLen > c.contextLength) {
    throw new ModelConfigError(
      `sequences of ${data.seqLen} tokens are longer than the model's context of ${c.contextLength}`,
    );
  }
  if (data.vocabSize > c.vocabSize) {
    throw new ModelConfigError(
      `the data has ${data.vocabSize} tokens, more than the model's vocabulary of ${c.vocabSize}`,
    );
  }
}

/** Same architecture (every field equal)? */
export function sameConfig(a: ModelConfig, b: ModelConfig): boolean {
  return (Object.keys(modelConfig.shape) as (keyof ModelConfig)[]).every((k) => a[k] === b[k]);
}
