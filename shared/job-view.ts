// What the API returns for a job: the contract between scheduler and client. Zod schemas, with
// the TS types inferred from them, so the OpenAPI document (which is generated from the schemas)
// and the code cannot drift apart.
import { z } from 'zod';
import { JOB_TYPES } from './job-spec.ts';

export const jobStateSchema = z.enum(['queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled']);
export type JobState = z.infer<typeof jobStateSchema>;
export const FINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

/** What a job reports as it runs; jobs add figures of their own (step, loss, tokens/s, …). */
export const jobProgressSchema = z
  .object({ percent: z.number(), message: z.string().optional() })
  .catchall(z.unknown());
export type JobProgress = z.infer<typeof jobProgressSchema>;

/** A job's last preemption, kept in its data (what `usine status` and `usine logs` show). */
export const lastPreemptionSchema = z.object({
  at: z.string().describe('When the attempt stopped (ISO time).'),
  worker: z.string().describe('The worker it ran on (name).'),
  forTenant: z.string().describe('The tenant whose job gets the slot.'),
  reason: z.enum(['fair-share', 'priority']),
  ranSeconds: z.number().describe('How long the attempt had run, seconds.'),
  lostDeviceSeconds: z
    .number()
    .describe('Device-seconds of work not kept in a checkpoint (the whole attempt for jobs that keep none).'),
  share: z.number().describe("The preemptor tenant's share of the matching slots when it was decided (0..1)."),
  target: z.number().describe("The preemptor tenant's target share (0..1)."),
});
export type LastPreemption = z.infer<typeof lastPreemptionSchema>;

/** The result of a matmul job. */
export const matmulResultSchema = z.object({
  adapter: z.string(),
  m: z.number(),
  n: z.number(),
  k: z.number(),
  ms: z.number().describe('Median kernel time over the repeats, milliseconds.'),
  gflops: z.number(),
  checksum: z.number().describe('Sum of all output entries.'),
  check: z.object({ samples: z.number(), maxAbsError: z.number(), tolerance: z.number(), passed: z.boolean() }),
  output: z
    .object({ artifact: z.string(), bytes: z.number(), format: z.string() })
    .optional()
    .describe('With saveOutput: the artifact holding C.'),
});
export type MatmulResult = z.infer<typeof matmulResultSchema>;

export const jobViewSchema = z.object({
  id: z.string(),
  type: z.enum(JOB_TYPES),
  tenant: z.string(),
  state: jobStateSchema,
  priority: z.number(),
  waitingFor: z
    .string()
    .nullable()
    .optional()
    .describe('While queued: why the job waits (no matching worker online, tenant at its limit, …).'),
  progress: jobProgressSchema.nullable(),
  result: z
    .unknown()
    .describe('Once succeeded: per job type (MatmulResult for matmul; train and infer: see docs/api.md).'),
  error: z.string().nullable(),
  attempts: z.number(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  worker: z.string().nullable(),
  preemptions: z
    .number()
    .describe('How often the job was preempted (stopped and requeued to free its slot); 0 if never.'),
  lastPreemption: lastPreemptionSchema.nullable(),
});
export type JobView = z.infer<typeof jobViewSchema>;

const percent = (x: number) => `${Math.round(x * 100)} %`;

/** "after 312 s on worker w3 for tenant uni-lab (share 8 % of a 50 % target)": for `usine status` and the job log. */
export function describePreemption(p: LastPreemption): string {
  const where = `after ${Math.round(p.ranSeconds)} s on worker ${p.worker}`;
  return p.reason === 'priority'
    ? `${where} for a higher-priority job of tenant ${p.forTenant}`
    : `${where} for tenant ${p.forTenant} (share ${percent(p.share)} of a ${percent(p.target)} target)`;
}
