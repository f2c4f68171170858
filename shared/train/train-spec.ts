// Parameters of a training run (the `train` job's params, less where the data comes from):
// model, optimisation, schedule, seed, evaluation and checkpoint intervals.
import { z } from 'zod';
import { seed } from '../seed.ts';
import { DEFAULT_LR_SCHEDULE, lrSchedule } from './lr-schedule.ts';
import { modelConfig } from './model-config.ts';

export const trainSettings = z
  .object({
    model: modelConfig,
    steps: z.number().int().min(1).max(1_000_000),
    batchSize: z.number().int().min(1).max(4096),
    /** Optional like the fields below: a spec needs only the model, the data, steps and batchSize. */
    schedule: lrSchedule.default({ ...DEFAULT_LR_SCHEDULE }),
    /** Seeds the initial parameters and the data stream. */
    seed,
    /** Clip the global gradient norm to this (PyTorch's clip_grad_norm_). */
    maxGradNorm: z.number().gt(0).default(1),
    optimizer: z
      .object({
        beta1: z.number().min(0).lt(1).default(0.9),
        beta2: z.number().min(0).lt(1).default(0.99),
        eps: z.number().gt(0).default(1e-8),
        weightDecay: z.number().min(0).default(0.01),
      })
      .strict()
      .default({ beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01 }),
    /** Evaluate on held-out data every N steps (and at the end); 0 = only at the end. */
    evalEvery: z.number().int().min(0).default(0),
    /** Held-out sequences per evaluation. */
    evalExamples: z.number().int().min(1).max(100_000).default(256),
    /** Checkpoint every N steps (and at the end); 0 = only at the end. */
    checkpointEvery: z.number().int().min(0).default(0),
  })
  .strict();

export type TrainSettings = z.output<typeof trainSettings>;
export type TrainSettingsInput = z.input<typeof trainSettings>;
