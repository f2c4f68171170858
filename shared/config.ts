// Configuration comes from environment variables, validated once at start-up.
// A bad value stops the process with a message that names the variable.
import fs from 'node:fs';
import { z } from 'zod';
import { parseHostPorts, redactUrl } from './redis.ts';

const port = z.coerce.number().int().min(1).max(65535);
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

const common = {
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .default('redis://127.0.0.1:6379'),
  /** Sentinels watching the primary, `host:port,host:port`: set with REDIS_SENTINEL_MASTER to follow failovers. */
  REDIS_SENTINELS: z
    .string()
    .refine((v) => {
      try {
        return parseHostPorts(v).length > 0;
      } catch {
        return false;
      }
    }, 'must be host:port[,host:port…]')
    .optional(),
  /** The name the sentinels monitor the primary under (`sentinel monitor NAME …`). */
  REDIS_SENTINEL_MASTER: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _, . and - only')
    .optional(),
  /** The sentinels' own password (`requirepass` in sentinel.conf), when they have one. */
  REDIS_SENTINEL_PASSWORD: z.string().optional(),
  /** PEM file of the CA that signed Redis's certificate, for a rediss:// REDIS_URL; unset = the system's CAs. */
  REDIS_TLS_CA_FILE: z
    .string()
    .refine((f) => fs.statSync(f, { throwIfNoEntry: false })?.isFile() ?? false, 'no such file')
    .optional(),
  LOG_LEVEL: logLevel.default('info'),
  USINE_DATA_DIR: z.string().min(1).default('data'),
  /** Prefix of every BullMQ key, so several usine installations can share one Redis. */
  USINE_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
    .default('usine'),
  /** Half-life of past device usage in the fair-share policy; set the same on scheduler and workers. */
  USINE_FAIR_SHARE_HALF_LIFE_SECONDS: z.coerce.number().positive().default(900),
  /** How far (device-seconds per unit of weight) a newly active tenant may catch up on the others. */
  USINE_FAIR_SHARE_CATCH_UP_SECONDS: z.coerce.number().nonnegative().default(60),
  /**
   * Finished jobs kept in Redis for this long (seconds) before BullMQ removes them; a train job's
   * curve (written by the worker) as long after its last point. Set the same on scheduler and workers.
   */
  USINE_RETENTION_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .default(7 * 24 * 3600),
  /** Folder of the artifact store, shared by the scheduler and the workers. */
  USINE_ARTIFACT_DIR: z.string().min(1).default('data/artifacts'),
};

/** The Redis settings that only make sense together. */
function redisTogether(c: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const bad = (name: string, message: string) => ctx.addIssue({ code: 'custom', path: [name], message });
  if (c.REDIS_SENTINELS && !c.REDIS_SENTINEL_MASTER)
    bad('REDIS_SENTINEL_MASTER', 'must be set with REDIS_SENTINELS (the name the sentinels monitor)');
  if (c.REDIS_SENTINEL_MASTER && !c.REDIS_SENTINELS)
    bad('REDIS_SENTINELS', 'must be set with REDIS_SENTINEL_MASTER (host:port of each sentinel)');
  if (c.REDIS_TLS_CA_FILE && !String(c.REDIS_URL).startsWith('rediss://'))
    bad('REDIS_URL', 'must start with rediss:// when REDIS_TLS_CA_FILE is set');
}

const schedulerFields = z.object({
  ...common,
  USINE_HOST: z.string().min(1).default('127.0.0.1'),
  USINE_PORT: port.default(8700),
  /** Upper bound of one HTTP request body. */
  USINE_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** Largest artifact upload. */
  USINE_UPLOAD_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(256 * 1024 * 1024),
  /** YAML/JSON file of tenants, tokens (hashes) and device classes; unset = one open "default" tenant. */
  USINE_TENANTS_FILE: z.string().optional(),
  /** An operator token (kept in memory, compared by hash); alternative to adminTokenSha256 in the file. */
  USINE_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** A worker silent for longer than this is dropped from /v1/workers. */
  USINE_WORKER_TIMEOUT_SECONDS: z.coerce.number().positive().default(10),
  /**
   * Who plans dispatch (docs/scheduling.md#where-the-policy-runs): `round` (the lease holder's dispatch round
   * grants the workers' slots; they follow it by themselves) or `workers` (each worker plans its own free slots).
   */
  USINE_DISPATCH: z.enum(['workers', 'round']).default('round'),
  /** Preemption for fair share (docs/scheduling.md): `on` or `off` for the whole installation. */
  USINE_PREEMPTION: z.enum(['on', 'off']).default('on'),
  /** A job that has run less than this is never preempted (a tenant may set its own). */
  USINE_PREEMPTION_MIN_RUNTIME_SECONDS: z.coerce.number().nonnegative().default(120),
  /** How long a preempted job has to checkpoint and stop before its worker abandons the attempt. */
  USINE_PREEMPTION_GRACE_SECONDS: z.coerce.number().nonnegative().default(30),
  /**
   * Rule 7 (scheduler/policy/preemption.ts): a swap that only rounds shares to the slot (half-slot
   * imbalances) takes only a job that has run this long; the simulator chose 30 min.
   */
  USINE_PREEMPTION_ROUNDING_RUNTIME_SECONDS: z.coerce.number().nonnegative().default(1800),
  /**
   * A Redis command of the API unanswered this long fails, and its request answers 503: a frozen
   * or unreachable Redis must not hang clients. Keep it under a second, above Redis's slowest reply.
   */
  USINE_REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(50).default(800),
  /** A client must send a request's headers within 10 s and the whole request within this (seconds). */
  USINE_REQUEST_TIMEOUT_SECONDS: z.coerce.number().int().min(10).default(300),
  /**
   * API requests a tenant may make per minute, over all scheduler replicas (counted in Redis);
   * 0: no limit. A tenant's own `rateLimitPerMinute` in the tenant table wins over it.
   */
  USINE_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(0),
  /**
   * `replica`: a submit answers only once its write reached a replica (Redis WAIT), or after
   * USINE_SUBMIT_DURABILITY_TIMEOUT_MS with a warning header; `none`: once the primary has it.
   */
  USINE_SUBMIT_DURABILITY: z.enum(['none', 'replica']).default('none'),
  USINE_SUBMIT_DURABILITY_TIMEOUT_MS: z.coerce.number().int().min(1).default(200),
});
export const schedulerEnv = schedulerFields.superRefine((c, ctx) => {
  redisTogether(c, ctx);
  // WAIT runs on the API's connection: the command timeout would cut it short and answer 503.
  if (c.USINE_SUBMIT_DURABILITY_TIMEOUT_MS >= c.USINE_REDIS_COMMAND_TIMEOUT_MS)
    ctx.addIssue({
      code: 'custom',
      path: ['USINE_SUBMIT_DURABILITY_TIMEOUT_MS'],
      message: `must be below USINE_REDIS_COMMAND_TIMEOUT_MS (${c.USINE_REDIS_COMMAND_TIMEOUT_MS})`,
    });
});
export type SchedulerConfig = z.infer<typeof schedulerEnv>;

const workerFields = z.object({
  ...common,
  USINE_WORKER_HOST: z.string().min(1).default('127.0.0.1'),
  USINE_WORKER_METRICS_PORT: port.default(8701),
  USINE_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(1),
  /** Dawn adapter name (substring); empty = the default adapter. */
  USINE_ADAPTER: z.string().default(''),
  /** Dawn backend (vulkan, metal, d3d12, …); empty = Dawn's choice. */
  USINE_BACKEND: z.string().default(''),
  USINE_WORKER_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.-]*$/, 'letters, digits, _, . and - only')
    .default(''),
  /** Region label jobs and tenants can require (data residency). */
  USINE_WORKER_REGION: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and -')
    .default('local'),
  /** Report the device as offering only these features (comma-separated, or `none`); unset = all it has. To fence devices, and for tests. */
  USINE_WORKER_FEATURES: z.string().optional(),
  /**
   * The device's power draw under load, in watts, behind the estimated energy figures
   * (usine_worker_energy_joules_total and each tenant's joules = watts × busy seconds).
   * Unset: a rough figure by adapter kind (worker/power.ts). An estimate either way, not a
   * measurement: measure your card under load and set it.
   */
  USINE_WORKER_POWER_WATTS: z.coerce
    .number()
    .min(0, 'must be 0 or more')
    .max(10_000, 'must be at most 10000 (watts)')
    .optional(),
  /**
   * For the chaos suite (scripts/chaos.ts) only: `on` records, per job in Redis hashes
   * `<prefix>:chaos:executions` (the processor returned a result) and `<prefix>:chaos:completions`
   * (BullMQ accepted the completion), a field per event (scripts/chaos/counters.ts), so that a job
   * run or completed twice shows. Costs two Redis writes per job: leave it off in production.
   */
  USINE_CHAOS_COUNTERS: z.enum(['on', 'off']).default('off'),
  /** Matmul tile configs: `first-use` tunes a new shape bucket inside the first job that needs it; `stored` only uses what `npm run bench -- --tune` or another worker stored. */
  USINE_MATMUL_AUTOTUNE: z.enum(['first-use', 'stored']).default('first-use'),
  /** A job's lock lasts this long without renewal; a worker silent for longer has its jobs retried elsewhere. */
  USINE_WORKER_LOCK_SECONDS: z.coerce.number().min(1).default(30),
});
export const workerEnv = workerFields.superRefine(redisTogether);
export type WorkerConfig = z.infer<typeof workerEnv>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses `env` with `schema`; throws a ConfigError naming every bad variable. */
export function loadConfig<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  // Empty strings mean "unset" (a common result of `VAR= cmd`).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => {
    const name = String(i.path[0]);
    return `  ${name}=${JSON.stringify(shown(name, env[name] ?? ''))}: ${i.message}`;
  });
  throw new ConfigError(
    `invalid configuration:\n${lines.join('\n')}\nFix these environment variables and start again.`,
  );
}

/** Variables whose values are secrets: an error message names them, never shows them. */
const SECRETS = new Set(['REDIS_SENTINEL_PASSWORD', 'USINE_ADMIN_TOKEN']);

function shown(name: string, value: string): string {
  if (SECRETS.has(name)) return value ? '***' : '';
  return name === 'REDIS_URL' ? redactUrl(value) : value;
}
