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

/** A live worker as GET /v1/workers shows it: a tenant sees only its own jobs in `running` and `jobs`. */
export const workerViewSchema = workerRecordSchema.extend({
  busy: z.number().int().describe("Slots in use, by any tenant's jobs (a tenant sees only its own ids)."),
});
export type WorkerView = z.infer<typeof workerViewSchema>;

export const workerListSchema = z.object({ workers: z.array(workerViewSchema) });
export type WorkerList = z.infer<typeof workerListSchema>;

/** One tenant's use of the devices over a period. */
export const usageTotalsSchema = z.object({
  tenant: z.string(),
  deviceSeconds: z.number(),
  jobs: z.number().describe('Attempts charged (a retried or preempted job counts each attempt).'),
  flops: z.number(),
  joules: z
    .number()
    .describe(
      "Estimated energy: each attempt's run time × its worker's power figure (USINE_WORKER_POWER_WATTS, " +
        'or a rough figure by adapter kind), as in usine_tenant_energy_joules_total. An estimate, not a measurement.',
    ),
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

// ---- The caller's own tenant (GET /v1/tenant) and the worker list as a tenant sees it (issue 15) ----

/** A tenant's standing now: the figures the fair-share gauges export (scheduler/tenant-standing.ts). */
export const tenantStandingSchema = z.object({
  name: z.string(),
  weight: z.number(),
  maxRunning: z.number().int(),
  maxQueued: z.number().int(),
  regions: z.array(z.string()),
  vendors: z.array(z.string()),
  preemption: z.object({
    preemptible: z.boolean(),
    minRuntimeSeconds: z.number().optional(),
    withinTenant: z.boolean(),
    guaranteedShare: z.number(),
  }),
  rateLimitPerMinute: z.number().int().optional(),
  running: z.number().int().describe('Jobs running now.'),
  queued: z.number().int().describe('Jobs queued now (retrying ones included).'),
  targetShare: z
    .number()
    .describe(
      'Fair-share target (0..1): its weight over the weights of tenants with work ' +
        '(of all tenants when none has work; 0 while it has none and others do). usine_tenant_weight_share_ratio.',
    ),
  usageShare: z
    .number()
    .describe("Its share of everyone's decayed device usage (0..1). usine_tenant_usage_share_ratio."),
  usageDeviceSeconds: z
    .number()
    .describe("Its decayed device usage, the fair-share policy's input. usine_tenant_usage_device_seconds."),
});
export type TenantStanding = z.infer<typeof tenantStandingSchema>;

export const whoAmISchema = z.object({
  caller: z
    .enum(['tenant', 'admin', 'open'])
    .describe("A tenant's token, an operator's, or open mode (no tokens: every caller is an operator)."),
  tenant: tenantStandingSchema
    .nullable()
    .describe("The caller's own tenant; an operator's: the one ?tenant= names (open mode: default), else null."),
});
export type WhoAmI = z.infer<typeof whoAmISchema>;
