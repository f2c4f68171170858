// Tenants: who uses the centre, against what they are entitled to.
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { capacityPanel, labelVariable, layout, statPanel, timeseriesPanel, usineDashboard } from './panels.ts';

const RI = '$__rate_interval';
const T = 'tenant=~"$tenant"';

export function tenantsDashboard(): DashboardBuilder {
  const d = usineDashboard(
    'usine-tenants',
    'usine / Tenants',
    "Each tenant's usage against its fair share and quotas, device time, FLOPs, estimated energy and refusals.",
  ).withVariable(labelVariable('tenant', 'Tenant', 'usine_tenant_jobs'));
  return layout(
    [
      {
        title: 'Fair share',
        panels: [
          {
            panel: capacityPanel({
              title: 'Usage share against fair share',
              description:
                "A tenant's decayed share of device time (used) against its weight-based fair share (target, dashed). Below target with jobs queued: the tenant is starved.",
              unit: 'percentunit',
              min: 0,
              max: 1,
              queries: [
                { expr: `usine_tenant_usage_share_ratio{${T}}`, legend: '{{tenant}} usage' },
                { expr: `usine_tenant_weight_share_ratio{${T}}`, legend: '{{tenant}} fair share' },
              ],
            }),
          },
          {
            panel: timeseriesPanel({
              title: 'Decayed usage (device-seconds)',
              description: 'The decayed device-seconds the fair-share policy weighs (recent use counts most).',
              unit: 's',
              min: 0,
              queries: [{ expr: `usine_tenant_usage_device_seconds{${T}}`, legend: '{{tenant}}' }],
            }),
          },
        ],
      },
      {
        title: 'Preemption',
        panels: [
          {
            w: 8,
            panel: timeseriesPanel({
              title: 'Preemptions per minute',
              description:
                "Jobs of each tenant stopped and requeued to give their slot to a tenant below its fair share (fair-share) or to the tenant's own higher-priority job (priority). Steady preemptions between the same tenants would be thrash (the stability rule prevents them); so would one job preempted again and again (the last series).",
              unit: 'short',
              min: 0,
              queries: [
                {
                  expr: `sum by (tenant, reason) (rate(usine_preemptions_total{${T}}[${RI}])) * 60`,
                  legend: '{{tenant}} {{reason}}',
                },
                { expr: 'max(usine_preemptions_per_job_max)', legend: 'most preemptions of one job in 1 h' },
              ],
            }),
          },
          {
            w: 8,
            panel: timeseriesPanel({
              title: 'Work lost to preemption (device-seconds per second)',
              description:
                'Device time of preempted attempts not kept in a checkpoint. Train jobs checkpoint on the way out and lose almost nothing; other job types lose the whole attempt.',
              unit: 'short',
              min: 0,
              queries: [
                {
                  expr: `sum by (tenant) (rate(usine_preempted_device_seconds_total{${T}}[${RI}]))`,
                  legend: '{{tenant}}',
                },
              ],
            }),
          },
          {
            w: 8,
            panel: timeseriesPanel({
              title: 'Starved wait p95',
              description:
                'p95 of the time from a tenant having queued work and nothing running to its first start: what preemption shortens, to about the minimum run time plus the grace.',
              unit: 's',
              min: 0,
              queries: [
                {
                  expr: `histogram_quantile(0.95, sum by (le, tenant) (rate(usine_tenant_starved_wait_seconds_bucket{${T}}[$__range])))`,
                  legend: '{{tenant}}',
                },
              ],
            }),
          },
        ],
      },
      {
        title: 'Consumption',
        panels: [
          {
            w: 8,
            panel: timeseriesPanel({
              title: 'Device-seconds per second',
              description:
                'Device time charged to each tenant per second of wall time: the number of devices it keeps busy.',
              unit: 'short',
              min: 0,
              queries: [
                {
                  expr: `sum by (tenant) (rate(usine_tenant_device_seconds_total{${T}}[${RI}]))`,
                  legend: '{{tenant}}',
                },
              ],
            }),
          },
          {
            w: 8,
            panel: timeseriesPanel({
              title: 'FLOP/s per tenant',
              description: "Floating-point operations per second executed for each tenant's jobs.",
              unit: 'flops',
              min: 0,
              queries: [
                { expr: `sum by (tenant) (rate(usine_tenant_flops_total{${T}}[${RI}]))`, legend: '{{tenant}}' },
              ],
            }),
          },
          {
            w: 8,
            panel: timeseriesPanel({
              title: 'Estimated power per tenant',
              description:
                "Estimated energy per second (watts) charged to each tenant: each worker's configured power figure × the device time of the tenant's jobs. An estimate, not a measurement.",
              unit: 'watt',
              min: 0,
              queries: [
                { expr: `sum by (tenant) (rate(usine_tenant_energy_joules_total{${T}}[${RI}]))`, legend: '{{tenant}}' },
              ],
            }),
          },
          {
            w: 12,
            panel: statPanel({
              title: 'Estimated energy in the time range',
              description:
                "Estimated energy (joules) charged to each tenant over the dashboard's time range. An estimate: each worker's power figure × the run time of the tenant's jobs.",
              unit: 'joule',
              min: 0,
              instant: true,
              queries: [
                {
                  expr: `sum by (tenant) (increase(usine_tenant_energy_joules_total{${T}}[$__range]))`,
                  legend: '{{tenant}}',
                },
              ],
            }),
          },
          {
            w: 12,
            panel: timeseriesPanel({
              title: 'Jobs submitted per second',
              description: 'Jobs admitted by the API per tenant and type.',
              unit: 'ops',
              min: 0,
              queries: [
                {
                  expr: `sum by (tenant, type) (rate(usine_jobs_submitted_total{${T}}[${RI}]))`,
                  legend: '{{tenant}} {{type}}',
                },
              ],
            }),
          },
        ],
      },
      {
        title: 'Quotas and refusals',
        panels: [
          {
            w: 8,
            panel: capacityPanel({
              title: 'Running jobs against quota',
              description: "Each tenant's running jobs (used) against its max_running quota (maximum, dashed).",
              unit: 'short',
              min: 0,
              queries: [
                { expr: `sum by (tenant) (usine_tenant_jobs{state="running",${T}})`, legend: '{{tenant}} running' },
                {
                  expr: `sum by (tenant) (usine_tenant_quota_jobs{kind="max_running",${T}})`,
                  legend: '{{tenant}} max running',
                },
              ],
            }),
          },
          {
            w: 8,
            panel: capacityPanel({
              title: 'Queued jobs against quota',
              description:
                "Each tenant's queued jobs (used) against its max_queued quota (maximum, dashed). At the maximum, new submissions are refused (quota_queued).",
              unit: 'short',
              min: 0,
              queries: [
                { expr: `sum by (tenant) (usine_tenant_jobs{state="queued",${T}})`, legend: '{{tenant}} queued' },
                {
                  expr: `sum by (tenant) (usine_tenant_quota_jobs{kind="max_queued",${T}})`,
                  legend: '{{tenant}} max queued',
                },
              ],
            }),
          },
          {
            w: 8,
            panel: timeseriesPanel({
              title: 'Refusals by reason',
              description:
                'Submissions refused per second, by tenant and reason (invalid_spec, quota_queued, quota_running, no_matching_worker_class, too_large, unauthorized, forbidden).',
              unit: 'ops',
              min: 0,
              queries: [
                {
                  expr: `sum by (tenant, reason) (rate(usine_job_refusals_total{${T}}[${RI}]))`,
                  legend: '{{tenant}} {{reason}}',
                },
                { expr: 'max(usine_preemptions_per_job_max)', legend: 'most preemptions of one job in 1 h' },
              ],
            }),
          },
          {
            w: 24,
            panel: timeseriesPanel({
              title: 'Queue wait p95 by tenant',
              description:
                "95th percentile of each tenant's time from submission to start. A tenant far above the others while below its fair share is starved.",
              unit: 's',
              min: 0,
              queries: [
                {
                  expr: `histogram_quantile(0.95, sum by (le, tenant) (rate(usine_job_queue_wait_seconds_bucket{${T}}[${RI}])))`,
                  legend: '{{tenant}}',
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
