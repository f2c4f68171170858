// Overview: is work flowing? Throughput by outcome, queue depth, time to drain, waits,
// running jobs against slots, failures and retries, workers up.
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { capacityPanel, layout, statPanel, timeseriesPanel, usineDashboard } from './panels.ts';

const RI = '$__rate_interval';

const waitQuantile = (q: number) => ({
  expr: `histogram_quantile(${q}, sum by (le) (rate(usine_job_queue_wait_seconds_bucket[${RI}])))`,
  legend: `p${Math.round(q * 100)}`,
});
const runQuantile = (q: number) => ({
  expr: `histogram_quantile(${q}, sum by (le, type) (rate(usine_job_run_seconds_bucket[${RI}])))`,
  legend: `{{type}} p${Math.round(q * 100)}`,
});

export function overviewDashboard(): DashboardBuilder {
  const d = usineDashboard(
    'usine-overview',
    'usine / Overview',
    'Is work flowing through usine? Throughput, queues, waits, failures and workers.',
  );
  return layout(
    [
      {
        title: 'At a glance',
        panels: [
          {
            w: 6,
            h: 5,
            panel: statPanel({
              title: 'Workers online',
              description:
                'Workers the scheduler sees connected (usine_workers_online, all adapters). Its series vanish with the last worker, hence the 0 fallback.',
              unit: 'short',
              queries: [{ expr: 'sum(usine_workers_online) or vector(0)', legend: 'workers' }],
            }),
          },
          {
            w: 6,
            h: 5,
            panel: statPanel({
              title: 'Worker targets up',
              description:
                'Worker /metrics endpoints Prometheus scrapes successfully (scrape job "usine-worker"). Fewer than expected: a worker is down or unreachable.',
              unit: 'short',
              queries: [{ expr: 'sum(up{job="usine-worker"})', legend: 'up' }],
            }),
          },
          {
            w: 6,
            h: 5,
            panel: statPanel({
              title: 'Jobs queued',
              description: 'Jobs waiting for a worker, all tenants (usine_tenant_jobs{state="queued"}).',
              unit: 'short',
              queries: [{ expr: 'sum(usine_tenant_jobs{state="queued"})', legend: 'queued' }],
            }),
          },
          {
            w: 6,
            h: 5,
            panel: statPanel({
              title: 'Time to drain',
              description:
                'Queued jobs divided by the current completion rate: how long the queue would take to empty if nothing more arrived. +Inf when nothing completes.',
              unit: 's',
              queries: [
                {
                  expr: `sum(usine_tenant_jobs{state="queued"}) / sum(rate(usine_jobs_finished_total[${RI}]))`,
                  legend: 'drain time',
                },
              ],
            }),
          },
        ],
      },
      {
        title: 'Throughput and queues',
        panels: [
          {
            panel: timeseriesPanel({
              title: 'Jobs finished per second by outcome',
              description: 'Rate of jobs reaching a final state, split by outcome (succeeded, failed, cancelled).',
              unit: 'ops',
              min: 0,
              queries: [
                { expr: `sum by (outcome) (rate(usine_jobs_finished_total[${RI}]))`, legend: '{{outcome}}' },
                { expr: `sum(rate(usine_jobs_submitted_total[${RI}]))`, legend: 'submitted' },
              ],
            }),
          },
          {
            panel: timeseriesPanel({
              title: 'Queue depth by tenant',
              description: 'Jobs queued per tenant (admitted, not yet started).',
              unit: 'short',
              min: 0,
              queries: [{ expr: 'sum by (tenant) (usine_tenant_jobs{state="queued"})', legend: '{{tenant}}' }],
            }),
          },
          {
            panel: timeseriesPanel({
              title: 'Time to drain by tenant',
              description:
                "A tenant's queued jobs divided by its completion rate: how long its queue would take to empty at the current pace.",
              unit: 's',
              min: 0,
              queries: [
                {
                  expr: `sum by (tenant) (usine_tenant_jobs{state="queued"}) / sum by (tenant) (rate(usine_jobs_finished_total[${RI}]))`,
                  legend: '{{tenant}}',
                },
              ],
            }),
          },
          {
            panel: timeseriesPanel({
              title: 'BullMQ queue jobs by state',
              description:
                "BullMQ's own job counts per queue and state (bullmq_job_count), exported once by the scheduler.",
              unit: 'short',
              min: 0,
              queries: [{ expr: 'sum by (queue, state) (bullmq_job_count)', legend: '{{queue}} {{state}}' }],
            }),
          },
        ],
      },
      {
        title: 'Latency',
        panels: [
          {
            panel: timeseriesPanel({
              title: 'Queue wait p50 / p95 / p99',
              description:
                'Time from submission to start, all tenants, from the usine_job_queue_wait_seconds histogram.',
              unit: 's',
              min: 0,
              queries: [waitQuantile(0.5), waitQuantile(0.95), waitQuantile(0.99)],
            }),
          },
          {
            panel: timeseriesPanel({
              title: 'Run time p50 / p95 by job type',
              description: 'Time from start to final state, from the usine_job_run_seconds histogram.',
              unit: 's',
              min: 0,
              queries: [runQuantile(0.5), runQuantile(0.95)],
            }),
          },
        ],
      },
      {
        title: 'Capacity and errors',
        panels: [
          {
            w: 8,
            panel: capacityPanel({
              title: 'Running jobs against worker slots',
              description:
                'Busy worker slots (used) against all slots (maximum, dashed). Used at the maximum with a growing queue: add workers.',
              unit: 'short',
              min: 0,
              queries: [
                { expr: 'sum(usine_worker_slots{state="busy"})', legend: 'busy slots' },
                { expr: 'sum(usine_worker_slots)', legend: 'all slots' },
              ],
            }),
          },
          {
            w: 8,
            panel: timeseriesPanel({
              title: 'Failure ratio',
              description: 'Share of finished jobs that failed, over the rate window.',
              unit: 'percentunit',
              min: 0,
              max: 1,
              queries: [
                {
                  expr: `sum(rate(usine_jobs_finished_total{outcome="failed"}[${RI}])) / sum(rate(usine_jobs_finished_total[${RI}]))`,
                  legend: 'failed',
                },
              ],
            }),
          },
          {
            w: 8,
            panel: timeseriesPanel({
              title: 'Retries per second',
              description: 'Job attempts retried after a failure (usine_job_retries_total), by type.',
              unit: 'ops',
              min: 0,
              queries: [{ expr: `sum by (type) (rate(usine_job_retries_total[${RI}]))`, legend: '{{type}}' }],
            }),
          },
          {
            w: 12,
            panel: timeseriesPanel({
              title: 'Workers online by adapter',
              description:
                'Workers connected to the scheduler, by WebGPU adapter (vendor, architecture, device, backend).',
              unit: 'short',
              min: 0,
              queries: [
                {
                  expr: 'sum by (vendor, architecture, device, backend) (usine_workers_online)',
                  legend: '{{vendor}} {{architecture}} {{device}} ({{backend}})',
                },
              ],
            }),
          },
          {
            w: 12,
            panel: timeseriesPanel({
              title: 'API request latency p99 by route',
              description: "99th percentile of the scheduler's HTTP request durations, by route.",
              unit: 's',
              min: 0,
              queries: [
                {
                  expr: `histogram_quantile(0.99, sum by (le, route) (rate(usine_http_request_duration_seconds_bucket[${RI}])))`,
                  legend: '{{route}}',
                },
              ],
            }),
          },
        ],
      },
    ],
    d,
  );
}
