// The bodies the HTTP API answers with, beyond the job view (job-view.ts), the worker record
// (worker-view.ts) and artifact metadata (artifact-meta.ts). The routes' return types are
// inferred from these schemas and /v1/openapi.json is generated from them: one definition.
import { z } from 'zod';
import { artifactMetaSchema } from './artifact-meta.ts';
import { jobViewSchema } from './job-view.ts';
import { workerRecordSchema } from './worker-view.ts';

/** Every error: { "error": { "code", "message", "details"? } } (scheduler/api-error.ts). */
export const apiErrorSchema = z.object({
  error: z.object({
    code: z.string().describe('Stable, machine-readable: invalid_spec, not_found, quota_exceeded, …'),
    message: z.string().describe('What was wrong and what to do, for a person.'),
    details: z.unknown().optional().describe('For invalid input: [{ field, reason }].'),
  }),
});
export type ApiErrorBody = z.infer<typeof apiErrorSchema>;

export const submittedSchema = z.object({ id: z.string(), state: z.literal('queued') });
export type Submitted = z.infer<typeof submittedSchema>;

export const submittedBatchSchema = z.object({ ids: z.array(z.string()), state: z.literal('queued') });
export type SubmittedBatch = z.infer<typeof submittedBatchSchema>;

export const jobListSchema = z.object({ jobs: z.array(jobViewSchema) });
export type JobList = z.infer<typeof jobListSchema>;

export const jobLogsSchema = z.object({ id: z.string(), logs: z.array(z.string()) });
export type JobLogs = z.infer<typeof jobLogsSchema>;

export const artifactListSchema = z.object({ artifacts: z.array(artifactMetaSchema) });
export type ArtifactList = z.infer<typeof artifactListSchema>;

export const workerListSchema = z.object({ workers: z.array(workerRecordSchema) });
export type WorkerList = z.infer<typeof workerListSchema>;

/** One tenant's use of the devices over a period. */
export const usageTotalsSchema = z.object({
  tenant: z.string(),
  deviceSeconds: z.number(),
  jobs: z.number().describe('Attempts charged (a retried or preempted job counts each attempt).'),
  flops: z.number(),
});
export type UsageTotals = z.infer<typeof usageTotalsSchema>;

export const usageReportSchema = z.object({
  from: z.string(),
  to: z.string(),
  granularity: z.literal('hour').describe('Totals are kept per hour: the period is widened to whole hours.'),
  tenants: z.array(usageTotalsSchema),
});
export type UsageReport = z.infer<typeof usageReportSchema>;

export const tokenMintedSchema = z.object({
  tenant: z.string(),
  token: z.string().describe('Shown this once: only its hash is stored.'),
});
export type TokenMinted = z.infer<typeof tokenMintedSchema>;

export const livenessSchema = z.object({ ok: z.literal(true) });
export const readinessSchema = z.object({ ok: z.boolean(), redis: z.boolean() });
export type Readiness = z.infer<typeof readinessSchema>;
