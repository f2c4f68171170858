// What the HTTP routes share.
import type { Redis } from 'ioredis';
import type { ArtifactStore } from '../shared/artifact-store.ts';
import type { Admission } from './admission.ts';
import type { SchedulerMetrics } from './metrics.ts';
import type { JobStore } from './queue/job-store.ts';
import type { TenantQueues } from './queue/tenant-queues.ts';
import type { Keys } from './state/keys.ts';
import type { TenantStore } from './state/tenants.ts';
import type { UsageLedger } from './state/usage.ts';
import type { WorkerRegistry } from './state/workers.ts';

export interface SchedulerContext {
  redis: Redis;
  keys: Keys;
  queues: TenantQueues;
  store: JobStore;
  tenants: TenantStore;
  workers: WorkerRegistry;
  usage: UsageLedger;
  admission: Admission;
  metrics: SchedulerMetrics;
  artifacts: ArtifactStore;
  /** No tenants file and no admin token: every request acts as the "default" tenant and as admin. */
  openMode: boolean;
}
