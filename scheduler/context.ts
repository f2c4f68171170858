// What the HTTP routes share, and the one place it is put together (the scheduler and the
// in-process API tests both use openContext).
import type { Redis } from 'ioredis';
import { ArtifactStore } from '../shared/artifact-store.ts';
import type { SchedulerConfig } from '../shared/config.ts';
import type { Logger } from '../shared/logger.ts';
import { Admission } from './admission.ts';
import { SchedulerMetrics } from './metrics.ts';
import { JobStore } from './queue/job-store.ts';
import { TenantQueues } from './queue/tenant-queues.ts';
import { Keys } from './state/keys.ts';
import { TenantStore, hashToken, DEFAULT_TENANT, type TenantsFile } from './state/tenants.ts';
import { UsageLedger } from './state/usage.ts';
import { WorkerRegistry } from './state/workers.ts';
import { PreemptionLedger } from './state/preemptions.ts';
import { SubmitDurability } from './queue/durability.ts';

export interface SchedulerContext {
  redis: Redis;
  keys: Keys;
  queues: TenantQueues;
  store: JobStore;
  tenants: TenantStore;
  workers: WorkerRegistry;
  usage: UsageLedger;
  admission: Admission;
  /** Preemption requests in progress (the round writes them; waitingFor reads them). */
  preemptions: PreemptionLedger;
  metrics: SchedulerMetrics;
  /** Whether a submit waits for a replica (USINE_SUBMIT_DURABILITY). */
  durability: SubmitDurability;
  artifacts: ArtifactStore;
  /** No tenants file and no admin token: every request acts as the "default" tenant and as admin. */
  openMode: boolean;
}

/**
 * The routes' state over `redis`: seeds the tenants of `file`, or in open mode (no file and no
 * admin token) the "default" tenant, with a warning.
 */
export async function openContext(
  cfg: SchedulerConfig,
  redis: Redis,
  file: TenantsFile | null,
  log: Logger,
): Promise<SchedulerContext> {
  const ctx = createContext(cfg, redis, file);
  await seedContext(ctx, file, log);
  return ctx;
}

/** The routes' state over `redis`, before anything is read or written (Redis may be down yet). */
export function createContext(cfg: SchedulerConfig, redis: Redis, file: TenantsFile | null): SchedulerContext {
  const keys = new Keys(cfg.USINE_QUEUE_PREFIX);
  const fromEnv = cfg.USINE_ADMIN_TOKEN ? [hashToken(cfg.USINE_ADMIN_TOKEN)] : [];
  const adminHashes = [...(file?.adminTokenSha256 ?? []), ...fromEnv];
  const openMode = !file && adminHashes.length === 0;
  const tenants = new TenantStore(redis, keys, adminHashes);
  const queues = new TenantQueues(redis, keys, cfg.USINE_QUEUE_PREFIX);
  const workers = new WorkerRegistry(redis, keys, cfg.USINE_WORKER_TIMEOUT_SECONDS * 1000);
  const usage = new UsageLedger(redis, keys, cfg.USINE_FAIR_SHARE_HALF_LIFE_SECONDS);
  const store = new JobStore(redis, keys, queues, cfg.USINE_RETENTION_SECONDS);
  const artifacts = new ArtifactStore(cfg.USINE_ARTIFACT_DIR);
  const preemptions = new PreemptionLedger(redis, keys);
  const admission = new Admission(queues, workers, file?.workerClasses ?? [], store, artifacts, preemptions);
  const metrics = new SchedulerMetrics([]);
  return {
    redis,
    keys,
    queues,
    store,
    tenants,
    workers,
    usage,
    admission,
    preemptions,
    metrics,
    durability: new SubmitDurability(redis, cfg.USINE_SUBMIT_DURABILITY, cfg.USINE_SUBMIT_DURABILITY_TIMEOUT_MS),
    artifacts,
    openMode,
  };
}

/**
 * Seeds the tenants of `file`, or in open mode the "default" tenant (with a warning), and
 * exports zeros for every tenant's series. Idempotent: the scheduler retries it until it succeeds.
 */
export async function seedContext(ctx: SchedulerContext, file: TenantsFile | null, log: Logger): Promise<void> {
  const { tenants } = ctx;
  if (file) await tenants.seed(file.tenants);
  if (ctx.openMode) {
    if (!(await tenants.get('default'))) await tenants.put(DEFAULT_TENANT);
    log.warn(
      'OPEN MODE: no USINE_TENANTS_FILE and no USINE_ADMIN_TOKEN — every request acts as tenant "default" ' +
        'with admin rights, without a token. For local development only.',
    );
  }
  for (const t of await tenants.list()) ctx.metrics.zeroTenant(t.name);
}
