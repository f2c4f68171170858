// The scheduler's Prometheus metrics (usine_ prefix, base units, bounded labels).
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { JOB_TYPES } from '../shared/job-spec.ts';

export const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];
export const RUN_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
export const OUTCOMES = ['succeeded', 'failed', 'cancelled'] as const;

export class SchedulerMetrics {
  readonly registry = new Registry();
  readonly submitted = new Counter({
    name: 'usine_jobs_submitted_total',
    help: 'Jobs accepted by the API, by tenant and type.',
    labelNames: ['tenant', 'type'] as const,
    registers: [this.registry],
  });
  readonly finished = new Counter({
    name: 'usine_jobs_finished_total',
    help: 'Jobs that reached a final state, by tenant, type and outcome.',
    labelNames: ['tenant', 'type', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({
    name: 'usine_job_queue_wait_seconds',
    help: 'Time from submission to the start of the last attempt.',
    labelNames: ['tenant', 'type'] as const,
    buckets: WAIT_BUCKETS,
    registers: [this.registry],
  });
  readonly runTime = new Histogram({
    name: 'usine_job_run_seconds',
    help: 'Time from the start of the last attempt to the final state.',
    labelNames: ['tenant', 'type'] as const,
    buckets: RUN_BUCKETS,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'usine_http_request_duration_seconds',
    help: 'HTTP API request durations, by method, route and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });

  constructor(tenants: string[]) {
    collectDefaultMetrics({ register: this.registry });
    for (const tenant of tenants) this.zeroTenant(tenant);
  }

  /** Exports zeros for a tenant's known series so rate() works from the first scrape. */
  zeroTenant(tenant: string): void {
    for (const type of JOB_TYPES) {
      this.submitted.inc({ tenant, type }, 0);
      this.queueWait.zero({ tenant, type });
      this.runTime.zero({ tenant, type });
      for (const outcome of OUTCOMES) this.finished.inc({ tenant, type, outcome }, 0);
    }
  }
}
