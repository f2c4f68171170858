// What the HTTP routes share: the job store and the metrics.
import type { Redis } from 'ioredis';
import type { JobStore } from './job-store.ts';
import type { SchedulerMetrics } from './metrics.ts';

export interface SchedulerContext {
  redis: Redis;
  store: JobStore;
  metrics: SchedulerMetrics;
}
