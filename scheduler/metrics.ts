// The scheduler's Prometheus metrics (usine_ prefix, base units, bounded labels: tenant
// names come from the tenant table, never job ids).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from '../shared/process-metrics.ts';
import { JOB_TYPES } from '../shared/job-spec.ts';
import { REFUSAL_REASONS } from './admission.ts';
import type { JobEventSummary } from './state/job-events.ts';

export const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];
export const RUN_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
export const OUTCOMES = ['succeeded', 'failed', 'cancelled'] as const;

export class SchedulerMetrics {
  readonly registry = new Registry();
  private readonly r = [this.registry];
  readonly submitted = new Counter({
    name: 'usine_jobs_submitted_total',
    help: 'Jobs accepted by the API, by tenant and type.',
    labelNames: ['tenant', 'type'] as const,
    registers: this.r,
  });
  readonly started = new Counter({
    name: 'usine_jobs_started_total',
    help: 'Job attempts started on a worker, by tenant and type.',
    labelNames: ['tenant', 'type'] as const,
    registers: this.r,
  });
  readonly finished = new Counter({
    name: 'usine_jobs_finished_total',
    help: 'Jobs that reached a final state, by tenant, type and outcome.',
    labelNames: ['tenant', 'type', 'outcome'] as const,
    registers: this.r,
  });
  readonly retries = new Counter({
    name: 'usine_job_retries_total',
    help: 'Failed attempts that will be retried, by tenant and type.',
    labelNames: ['tenant', 'type'] as const,
    registers: this.r,
  });
  readonly refusals = new Counter({
    name: 'usine_job_refusals_total',
    help: 'Requests refused at admission, by tenant and reason.',
    labelNames: ['tenant', 'reason'] as const,
    registers: this.r,
  });
  readonly queueWait = new Histogram({
    name: 'usine_job_queue_wait_seconds',
    help: 'Time from submission to the start of an attempt.',
    labelNames: ['tenant', 'type'] as const,
    buckets: WAIT_BUCKETS,
    registers: this.r,
  });
  readonly runTime = new Histogram({
    name: 'usine_job_run_seconds',
    help: 'Time from the start of the final attempt to its end.',
    labelNames: ['tenant', 'type'] as const,
    buckets: RUN_BUCKETS,
    registers: this.r,
  });
  readonly tenantJobs = new Gauge({
    name: 'usine_tenant_jobs',
    help: 'Jobs per tenant by state (queued includes retrying).',
    labelNames: ['tenant', 'state'] as const,
    registers: this.r,
  });
  readonly tenantQuota = new Gauge({
    name: 'usine_tenant_quota_jobs',
    help: "A tenant's job limits (max_queued, max_running).",
    labelNames: ['tenant', 'kind'] as const,
    registers: this.r,
  });
  readonly weightShare = new Gauge({
    name: 'usine_tenant_weight_share_ratio',
    help: "A tenant's fair-share target: its weight over the weights of tenants with work (0..1).",
    labelNames: ['tenant'] as const,
    registers: this.r,
  });
  readonly usageShare = new Gauge({
    name: 'usine_tenant_usage_share_ratio',
    help: "A tenant's share of decayed device usage (0..1).",
    labelNames: ['tenant'] as const,
    registers: this.r,
  });
  readonly usage = new Gauge({
    name: 'usine_tenant_usage_device_seconds',
    help: "A tenant's decayed device usage (the fair-share policy's input).",
    labelNames: ['tenant'] as const,
    registers: this.r,
  });
  readonly deviceSeconds = new Counter({
    name: 'usine_tenant_device_seconds_total',
    help: 'Device-seconds used by a tenant (all attempts).',
    labelNames: ['tenant'] as const,
    registers: this.r,
  });
  readonly flops = new Counter({
    name: 'usine_tenant_flops_total',
    help: "Floating-point operations executed for a tenant's jobs.",
    labelNames: ['tenant'] as const,
    registers: this.r,
  });
  readonly energy = new Counter({
    name: 'usine_tenant_energy_joules_total',
    help: "Estimated energy of a tenant's jobs: run time × each worker's configured power figure, not a measurement.",
    labelNames: ['tenant'] as const,
    registers: this.r,
  });
  readonly workersOnline = new Gauge({
    name: 'usine_workers_online',
    help: 'Live workers by adapter.',
    labelNames: ['vendor', 'architecture', 'device', 'backend'] as const,
    registers: this.r,
  });
  readonly workerSlots = new Gauge({
    name: 'usine_worker_slots',
    help: 'Device slots of live workers, busy or free.',
    labelNames: ['state'] as const,
    registers: this.r,
  });
  readonly httpDuration = new Histogram({
    name: 'usine_http_request_duration_seconds',
    help: 'HTTP API request durations, by method, route and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: this.r,
  });
  readonly preemptions = new Counter({
    name: 'usine_preemptions_total',
    help: "Jobs preempted (stopped and requeued), by the victim's tenant and the reason (fair-share, priority).",
    labelNames: ['tenant', 'reason'] as const,
    registers: this.r,
  });
  readonly preemptedSeconds = new Counter({
    name: 'usine_preempted_device_seconds_total',
    help: "Device-seconds of work lost to preemptions (not kept in a checkpoint), by the victim's tenant.",
    labelNames: ['tenant'] as const,
    registers: this.r,
  });
  readonly starvedWait = new Histogram({
    name: 'usine_tenant_starved_wait_seconds',
    help: 'Time from a tenant having queued work and no job running to its first start.',
    labelNames: ['tenant'] as const,
    buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600],
    registers: this.r,
  });
  readonly preemptionsInProgress = new Gauge({
    name: 'usine_preemptions_in_progress',
    help: 'Preemption requests sent whose job has not yet left its slot.',
    registers: this.r,
  });
  readonly preemptionsPerJobMax = new Gauge({
    name: 'usine_preemptions_per_job_max',
    help: 'The most preemptions decided for any one job in the last hour (thrash shows here).',
    registers: this.r,
  });
  readonly dispatchLeader = new Gauge({
    name: 'usine_dispatch_leader',
    help: 'Whether this scheduler replica holds the dispatch lease (runs the dispatch and preemption rounds): 1 or 0.',
    registers: this.r,
  });
  readonly dispatchRound = new Histogram({
    name: 'usine_dispatch_round_seconds',
    help: "Duration of the dispatch lease holder's rounds (snapshot of the queues with work, plan, grants).",
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
    registers: this.r,
  });
  readonly redisUp = new Gauge({
    name: 'usine_redis_up',
    help: 'Whether the scheduler reaches Redis (1) or not (0): at 0 the API answers 503 redis_unavailable.',
    registers: this.r,
  });
  private readonly zeroed = new Set<string>();

  constructor(tenants: string[]) {
    collectProcessMetrics(this.registry);
    for (const tenant of tenants) this.zeroTenant(tenant);
    this.dispatchLeader.set(0);
    this.preemptionsInProgress.set(0);
    this.preemptionsPerJobMax.set(0);
  }

  /**
   * Withdraws the gauges of global state (gauges.ts), and zeroes the preemption round's: a
   * replica that does not hold the dispatch lease exports none of them, so sum() over replicas
   * counts each once.
   */
  withdrawGlobalGauges(): void {
    for (const g of [this.tenantJobs, this.tenantQuota, this.weightShare, this.usageShare, this.usage]) g.reset();
    this.workersOnline.reset();
    this.workerSlots.reset();
    this.preemptionsInProgress.set(0);
    this.preemptionsPerJobMax.set(0);
  }

  /** Exports zeros for a tenant's known series so rate() works from the first scrape. */
  zeroTenant(tenant: string): void {
    if (this.zeroed.has(tenant)) return;
    this.zeroed.add(tenant);
    for (const type of JOB_TYPES) {
      for (const c of [this.submitted, this.started, this.retries]) c.inc({ tenant, type }, 0);
      this.queueWait.zero({ tenant, type });
      this.runTime.zero({ tenant, type });
      for (const outcome of OUTCOMES) this.finished.inc({ tenant, type, outcome }, 0);
    }
    for (const reason of REFUSAL_REASONS) this.refusals.inc({ tenant, reason }, 0);
    for (const c of [this.deviceSeconds, this.flops, this.energy]) c.inc({ tenant }, 0);
    for (const reason of ['fair-share', 'priority']) this.preemptions.inc({ tenant, reason }, 0);
    this.preemptedSeconds.inc({ tenant }, 0);
    this.starvedWait.zero({ tenant });
  }

  /** Applies one flush of a worker's job events, summed per tenant and type. */
  observeAll(summaries: readonly JobEventSummary[]): void {
    for (const s of summaries) {
      this.zeroTenant(s.tenant);
      const labels = { tenant: s.tenant, type: s.type };
      if (s.waits.length) this.started.inc(labels, s.waits.length);
      for (const w of s.waits) this.queueWait.observe(labels, w);
      if (s.retries) this.retries.inc(labels, s.retries);
      for (const outcome of OUTCOMES)
        if (s.finished[outcome]) this.finished.inc({ ...labels, outcome }, s.finished[outcome]);
      for (const r of s.runs) this.runTime.observe(labels, r);
      const tenant = { tenant: s.tenant };
      if (s.seconds) this.deviceSeconds.inc(tenant, s.seconds);
      if (s.flops) this.flops.inc(tenant, s.flops);
      if (s.joules) this.energy.inc(tenant, s.joules);
      for (const reason of ['fair-share', 'priority'] as const)
        if (s.preemptions[reason]) this.preemptions.inc({ ...tenant, reason }, s.preemptions[reason]);
      if (s.preemptedLostSeconds) this.preemptedSeconds.inc(tenant, s.preemptedLostSeconds);
    }
  }
}
