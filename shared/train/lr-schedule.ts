// Learning-rate schedule: linear warm-up, then cosine decay to a floor.
import { z } from 'zod';

/** What a spec that leaves out the schedule (or some of its fields) gets: AdamW's usual 3e-3 for small models. */
export const DEFAULT_LR_SCHEDULE = { lr: 3e-3, warmupSteps: 0, minFraction: 0.1 } as const;

export const lrSchedule = z
  .object({
    /** Peak learning rate, reached at the end of warm-up. */
    lr: z.number().gt(0).max(10).default(DEFAULT_LR_SCHEDULE.lr),
    warmupSteps: z.number().int().min(0).default(DEFAULT_LR_SCHEDULE.warmupSteps),
    /** Learning rate at the last step, as a fraction of lr. */
    minFraction: z.number().min(0).max(1).default(DEFAULT_LR_SCHEDULE.minFraction),
  })
  .strict();
export type LrSchedule = z.output<typeof lrSchedule>;

/** The learning rate of 1-based `step` out of `totalSteps`. */
export function learningRate(s: LrSchedule, step: number, totalSteps: number): number {
  if (!Number.isInteger(step) || step < 1)
    throw new Error(`learning rate: step must be a positive integer, got ${step}`);
  if (s.warmupSteps > 0 && step <= s.warmupSteps) return (s.lr * step) / s.warmupSteps;
  const decay = Math.max(1, totalSteps - s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / decay);
  const min = s.lr * s.minFraction;
  return min + 0.5 * (s.lr - min) * (1 + Math.cos(Math.PI * progress));
}
