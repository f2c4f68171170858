// A live worker as it heartbeats and as GET /v1/workers shows it. Zod schemas with the TS types
// inferred from them, so the OpenAPI document and the code cannot drift apart.
import { z } from 'zod';

/** What a worker offers, as it registers and heartbeats. */
export const deviceCapsSchema = z.object({
  vendor: z.string(),
  architecture: z.string(),
  device: z.string(),
  backend: z.string(),
  features: z.array(z.string()),
  limits: z.record(z.string(), z.number()),
  region: z.string(),
});
export type DeviceCaps = z.infer<typeof deviceCapsSchema>;

/** A job running on a worker, as its heartbeat reports it: what preemption chooses victims from. */
export const runningJobSchema = z.object({
  id: z.string(),
  tenant: z.string(),
  queue: z.string().describe('Its queue (tenant and requirement class).'),
  priority: z.number(),
  preemptible: z
    .boolean()
    .describe("The job's own opt-out (`preemptible: false` in its spec); the tenant's is in the tenant table."),
  startedAt: z.number().describe('When this attempt started (ms since the epoch).'),
  checkpointAt: z
    .number()
    .nullable()
    .describe('When this attempt last wrote a checkpoint (ms), or null: the work a preemption would lose.'),
  preemptions: z
    .number()
    .optional()
    .describe('How often the job was preempted before this attempt (each doubles its protection).'),
});
export type RunningJob = z.infer<typeof runningJobSchema>;

export const workerRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  caps: deviceCapsSchema,
  adapter: z.string(),
  concurrency: z.number(),
  running: z.array(z.string()).describe('Ids of the jobs it runs.'),
  jobs: z.array(runningJobSchema).optional().describe('The running jobs in detail (older workers send none).'),
  startedAt: z.string(),
  lastHeartbeat: z.string(),
});
export type WorkerRecord = z.infer<typeof workerRecordSchema>;
