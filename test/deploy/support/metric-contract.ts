// The metric names dashboards and alerts may use: the contract between the scheduler,
// the workers and deploy/. A query naming anything else is a typo or an undocumented metric.

export type MetricType = 'counter' | 'gauge' | 'histogram';

export const SCHEDULER_METRICS: Record<string, MetricType> = {
  usine_jobs_submitted_total: 'counter',
  usine_jobs_started_total: 'counter',
  usine_jobs_finished_total: 'counter',
  usine_job_retries_total: 'counter',
  usine_job_queue_wait_seconds: 'histogram',
  usine_job_run_seconds: 'histogram',
  usine_job_refusals_total: 'counter',
  usine_tenant_jobs: 'gauge',
  usine_tenant_quota_jobs: 'gauge',
  usine_tenant_weight_share_ratio: 'gauge',
  usine_tenant_usage_share_ratio: 'gauge',
  usine_tenant_usage_device_seconds: 'gauge',
  usine_tenant_device_seconds_total: 'counter',
  usine_tenant_flops_total: 'counter',
  usine_tenant_energy_joules_total: 'counter',
  usine_workers_online: 'gauge',
  usine_worker_slots: 'gauge',
  usine_http_request_duration_seconds: 'histogram',
  bullmq_job_count: 'gauge',
  usine_redis_up: 'gauge',
  usine_preemptions_total: 'counter',
  usine_preempted_device_seconds_total: 'counter',
  usine_tenant_starved_wait_seconds: 'histogram',
  usine_preemptions_in_progress: 'gauge',
  usine_preemptions_per_job_max: 'gauge',
  usine_dispatch_leader: 'gauge',
  usine_dispatch_round_seconds: 'histogram',
};

export const WORKER_METRICS: Record<string, MetricType> = {
  usine_worker_jobs_finished_total: 'counter',
  usine_worker_job_duration_seconds: 'histogram',
  usine_worker_flops_total: 'counter',
  usine_worker_kernel_duration_seconds: 'histogram',
  usine_worker_device_busy_seconds_total: 'counter',
  usine_worker_adapter_info: 'gauge',
  usine_worker_transfer_bytes_total: 'counter',
  usine_worker_energy_joules_total: 'counter',
  usine_worker_power_watts: 'gauge',
  usine_worker_device_lost_total: 'counter',
  usine_redis_up: 'gauge',
};

/** Prometheus's own per-target series. */
export const PROMETHEUS_METRICS: Record<string, MetricType> = { up: 'gauge' };

/** The series names a query may select: histograms through _bucket, _sum and _count. */
export function knownSeriesNames(): Set<string> {
  const out = new Set<string>();
  for (const [name, type] of Object.entries({ ...SCHEDULER_METRICS, ...WORKER_METRICS, ...PROMETHEUS_METRICS })) {
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(name + s);
    else out.add(name);
  }
  return out;
}
