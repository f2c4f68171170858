// The job spec: what a client may submit. Validated once, at the API edge; everything
// behind the edge trusts these types.
import { z } from 'zod';

/** Largest dimension accepted at the edge; device limits are checked at admission. */
export const MAX_DIM = 1 << 20;

const dim = z.number().int().min(1, 'must be at least 1').max(MAX_DIM, `must be at most ${MAX_DIM}`);

export const matmulParams = z
  .object({
    m: dim,
    n: dim,
    k: dim,
    /** Seed of the generated inputs A (m×k) and B (k×n), uniform in [-1, 1). */
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(1),
    /** How many times the kernel runs; the result reports the median. */
    repeats: z.number().int().min(1).max(1000).default(1),
  })
  .strict();
export type MatmulParams = z.infer<typeof matmulParams>;

export const jobSpec = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('matmul'),
      params: matmulParams,
      /** 0–1000, higher runs first within a tenant. */
      priority: z.number().int().min(0).max(1000).default(0),
    })
    .strict(),
]);
export type JobSpec = z.infer<typeof jobSpec>;
export type JobType = JobSpec['type'];
export const JOB_TYPES: readonly JobType[] = ['matmul'];

/** A zod error as one line per field: `params.m: must be at least 1`. */
export function describeIssues(err: z.ZodError): { field: string; reason: string }[] {
  return err.issues.map((i) => ({ field: i.path.join('.') || '(body)', reason: i.message }));
}
