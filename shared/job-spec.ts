// The job spec: what a client may submit. Validated once, at the API edge; everything
// behind the edge trusts these types.
import { z } from 'zod';
import { seed } from './seed.ts';
import { trainJobParams, inferJobParams } from './train/job-params.ts';

/** Largest dimension accepted at the edge; device limits are checked at admission. */
export const MAX_DIM = 1 << 20;

const dim = z.number().int().min(1, 'must be at least 1').max(MAX_DIM, `must be at most ${MAX_DIM}`);

export const matmulParams = z
  .object({
    m: dim,
    n: dim,
    k: dim,
    /** Seed of the generated inputs A (m×k) and B (k×n), uniform in [-1, 1). */
    seed,
    /** How many times the kernel runs; the result reports the median. */
    repeats: z.number().int().min(1).max(100_000).default(1),
    /** Keep C (row-major little-endian f32) as an artifact, downloadable through the API. */
    saveOutput: z.boolean().default(false),
  })
  .strict();
export type MatmulParams = z.infer<typeof matmulParams>;

/** A job that does nothing on the device: for measuring the scheduler itself. */
export const noopParams = z
  .object({
    /** Milliseconds to hold the device slot (0 = return at once). */
    sleepMs: z.number().int().min(0).max(3_600_000).default(0),
  })
  .strict();
export type NoopParams = z.infer<typeof noopParams>;

const name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and -');

/** What a job needs of the device it runs on (a tenant's allowed regions/vendors narrow it further). */
export const requirements = z
  .object({
    /** WebGPU features the adapter must have, e.g. "shader-f16". */
    features: z.array(z.string().min(1)).max(32).default([]),
    /** Minimum adapter limits, e.g. { "maxStorageBufferBindingSize": 268435456 }. */
    minLimits: z.record(z.string(), z.number().nonnegative()).default({}),
    /** The worker's region label must be one of these (empty = any). */
    regions: z.array(name).max(32).default([]),
    /** The adapter's vendor must be one of these (empty = any). */
    vendors: z.array(z.string().min(1)).max(32).default([]),
  })
  .strict();
export type Requirements = z.infer<typeof requirements>;

const common = {
  /** 0–1000, higher runs first within a tenant. */
  priority: z.number().int().min(0).max(1000).default(0),
  requirements: requirements.default({ features: [], minLimits: {}, regions: [], vendors: [] }),
  /** A running attempt longer than this fails (no retry). */
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .default(3600),
  /** Attempts for retriable failures (worker crash, device lost); invalid input is never retried. */
  attempts: z.number().int().min(1).max(20).default(3),
  /** Free-form labels for the submitter (not used for scheduling). */
  labels: z.record(z.string(), z.string().max(256)).optional(),
  /**
   * May this job be stopped (and requeued, resumed from its checkpoint) to give its slot to a
   * tenant below its fair share? false: it runs to the end, and counts against its tenant's quota.
   */
  preemptible: z.boolean().default(true),
  /** Start only after this job (of the same tenant) has succeeded; fail if it fails. */
  dependsOn: z.string().min(1).max(100).optional(),
};

export const jobSpec = z.discriminatedUnion('type', [
  z.object({ type: z.literal('matmul'), params: matmulParams, ...common }).strict(),
  z.object({ type: z.literal('noop'), params: noopParams.default({ sleepMs: 0 }), ...common }).strict(),
  /** Train a decoder-only transformer on the worker's device (see worker/train/). */
  z.object({ type: z.literal('train'), params: trainJobParams, ...common }).strict(),
  /** Generate text from a checkpoint (an artifact, or a train job's final one). */
  z.object({ type: z.literal('infer'), params: inferJobParams, ...common }).strict(),
]);
export type JobSpec = z.infer<typeof jobSpec>;
export type JobSpecInput = z.input<typeof jobSpec>;
export type JobType = JobSpec['type'];
export const JOB_TYPES: readonly JobType[] = ['matmul', 'noop', 'train', 'infer'];

/** A batch: one request, many jobs (job arrays, parameter sweeps). */
export const jobBatch = z.object({ jobs: z.array(jobSpec).min(1).max(10_000) }).strict();

/** A zod error as one entry per field: `params.m: must be at least 1`. */
export function describeIssues(err: z.ZodError): { field: string; reason: string }[] {
  return err.issues.map((i) => ({ field: i.path.join('.') || '(body)', reason: i.message }));
}

/** The job a spec waits for: its `dependsOn`, or the train job whose checkpoint an infer job reads. */
export function dependencyOf(spec: JobSpec): string | undefined {
  if (spec.dependsOn) return spec.dependsOn;
  if (spec.type === 'infer' && 'job' in spec.params.checkpoint) return spec.params.checkpoint.job;
  return undefined;
}
