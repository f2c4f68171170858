// A train job's learning curve as the API serves it (GET /v1/jobs/:id/curve): the training
// loss per recorded step, the held-out evaluations, tokens/s. The worker records it while the
// job trains (worker/train/curve-recorder.ts); the page and `usine wait` read it with `after=`.
import { z } from 'zod';
import { jobStateSchema } from './job-view.ts';

export const curveEvalSchema = z.object({
  loss: z.number().describe('Mean held-out loss.'),
  exactMatch: z.number().describe('Fraction of held-out answers entirely right (0–1).'),
  tokenAccuracy: z.number().describe('Fraction of held-out target tokens right (0–1).'),
});

export const curvePointSchema = z.object({
  step: z.number().int(),
  loss: z
    .number()
    .describe('Training loss: the step’s own, or the mean of the steps since the previous point on a long run.'),
  tokensPerSecond: z.number().describe('Training throughput of the attempt so far.'),
  eval: curveEvalSchema.optional().describe('The held-out evaluation made at this step, if one was.'),
});
export type CurvePoint = z.infer<typeof curvePointSchema>;

export const jobCurveSchema = z.object({
  id: z.string(),
  state: jobStateSchema.describe('The job’s state when read: once final, no more points come.'),
  steps: z
    .number()
    .int()
    .nullable()
    .describe('The steps the job trains for, once it has started (null before, and for other job types).'),
  points: z.array(curvePointSchema).describe('Points after `after`, by step.'),
  next: z.number().int().describe('The `after` to ask with next: the last step returned (or `after` if none).'),
  more: z.boolean().describe('More points were left out (the limit): ask again at once with `after=next`.'),
});
export type JobCurve = z.infer<typeof jobCurveSchema>;

/** Query of GET /v1/jobs/:id/curve. */
export const curveQuery = z
  .object({
    after: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(5000).default(5000),
  })
  .strict();

/**
 * At most this many loss points per job: a longer run keeps one point per ⌈steps/MAX⌉ steps
 * (the mean loss of those steps), so a curve costs at most a few hundred kB of Redis whatever its length.
 */
export const MAX_LOSS_POINTS = 2000;
/** At most about this many evaluation points per job (every k-th evaluation beyond that, and the last). */
export const MAX_EVAL_POINTS = 500;
