// Parameters of the `train` and `infer` jobs, and the checks a submit runs on them (bad
// configs are refused with a reason before anything is queued). The shared job spec
// (shared/job-spec.ts) includes these schemas when the jobs are wired in.
import { z } from 'zod';
import { seed } from '../seed.ts';
import { deviceFitProblems, type DeviceLimits } from './device-fit.ts';
import type { ModelConfig } from './model-config.ts';
import { SyntheticTask, syntheticTaskSpec } from './tasks.ts';
import { trainSettings } from './train-spec.ts';

export const trainData = z.discriminatedUnion('source', [
  z.object({ source: z.literal('task'), task: syntheticTaskSpec }).strict(),
  z
    .object({
      source: z.literal('text'),
      /** Artifact id of a UTF-8 text file. */
      artifact: z.string().min(1),
      seqLen: z.number().int().min(1).max(4096),
      heldOutFraction: z.number().gt(0).lt(1).default(0.1),
    })
    .strict(),
]);
export type TrainData = z.output<typeof trainData>;

export const trainJobParams = trainSettings.extend({ data: trainData }).strict();
export type TrainJobParams = z.output<typeof trainJobParams>;

export const inferJobParams = z
  .object({
    /** A checkpoint artifact id, or the id of the training job whose final checkpoint to use. */
    checkpoint: z.union([
      z.object({ artifact: z.string().min(1) }).strict(),
      z.object({ job: z.string().min(1) }).strict(),
    ]),
    prompts: z.array(z.string().min(1)).min(1).max(1024),
    maxNewTokens: z.number().int().min(1).max(4096),
    /** 0 = greedy. */
    temperature: z.number().min(0).max(10).default(0),
    seed,
  })
  .strict();
export type InferJobParams = z.output<typeof inferJobParams>;

/**
 * Problems that make a train job impossible, for a submit to refuse: data that does not fit
 * the model (sequence longer than the context, more tokens than the vocabulary) and, given a
 * device's limits, a model that does not fit it. Text data is checked once its artifact is read.
 */
export function trainJobProblems(p: TrainJobParams, limits?: DeviceLimits): string[] {
  const c: ModelConfig = p.model;
  const problems: string[] = [];
  let seqLen: number;
  if (p.data.source === 'task') {
    const task = new SyntheticTask(p.data.task);
    seqLen = task.seqLen;
    if (task.vocabSize > c.vocabSize)
      problems.push(`model.vocabSize ${c.vocabSize} is smaller than the task's vocabulary of ${task.vocabSize}`);
  } else {
    seqLen = p.data.seqLen;
  }
  if (seqLen > c.contextLength)
    problems.push(`the data's sequences of ${seqLen} tokens are longer than model.contextLength ${c.contextLength}`);
  if (limits) problems.push(...deviceFitProblems(c, p.batchSize, seqLen, limits));
  return problems;
}

/** Problems of an infer job against the checkpoint's model (prompt plus new tokens within its context). */
export function inferJobProblems(p: InferJobParams, c: ModelConfig, encode: (text: string) => number[]): string[] {
  const problems: string[] = [];
  p.prompts.forEach((text, i) => {
    let n: number;
    try {
      n = encode(text).length;
    } catch (e) {
      problems.push(`prompts[${i}]: ${(e as Error).message}`);
      return;
    }
    if (n + p.maxNewTokens - 1 > c.contextLength) {
      problems.push(
        `prompts[${i}] has ${n} tokens; with maxNewTokens ${p.maxNewTokens} it exceeds the model's context of ${c.contextLength}`,
      );
    }
  });
  return problems;
}
