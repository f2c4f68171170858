// Kernels & devices: what the GPUs do. Throughput by adapter, kernel and dtype,
// utilisation, transfers, device losses, kernel durations, estimated power.
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { heatmapPanel, labelVariable, layout, timeseriesPanel, usineDashboard } from './panels.ts';

const RI = '$__rate_interval';
const I = 'instance=~"$instance"';
/** Adds the adapter's labels to a per-worker series (usine_worker_adapter_info is 1). */
const ADAPTER = '* on (job, instance) group_left (vendor, architecture, device, backend) usine_worker_adapter_info';

export function kernelsDashboard(): DashboardBuilder {
  const d = usineDashboard(
    'usine-kernels',
    'usine / Kernels & devices',
    'What the devices do: throughput per adapter, kernel and dtype, utilisation, transfers, device losses, kernel durations and estimated power.',
  ).withVariable(labelVariable('instance', 'Worker', 'usine_worker_adapter_info'));
  return layout(
    [
      {
        title: 'Throughput and utilisation',
        panels: [
          {
            panel: timeseriesPanel({
              title: 'FLOP/s by adapter, kernel and dtype',
              description:
                'Floating-point operations per second executed by kernels (rate of usine_worker_flops_total), summed per adapter model, kernel and dtype.',
              unit: 'flops',
              min: 0,
              queries: [
                {
                  expr: `sum by (vendor, architecture, device, kernel, dtype) (rate(usine_worker_flops_total{${I}}[${RI}]) ${ADAPTER})`,
                  legend: '{{vendor}} {{device}} {{kernel}} {{dtype}}',
                },
              ],
            }),
          },
          {
            panel: timeseriesPanel({
              title: 'Device utilisation',
              description:
                "Share of wall time each worker's device spent running kernels (rate of usine_worker_device_busy_seconds_total).",
              unit: 'percentunit',
              min: 0,
              max: 1,
              queries: [
                {
                  expr: `rate(usine_worker_device_busy_seconds_total{${I}}[${RI}]) ${ADAPTER}`,
                  legend: '{{instance}} {{device}}',
                },
              ],
            }),
          },
        ],
      },
      {
        title: 'Transfers and faults',
        panels: [
          {
            w: 8,
            panel: timeseriesPanel({
              title: 'Host ↔ device transfer rate',
              description: 'Bytes per second copied from host to device (upload) and back (download), per worker.',
              unit: 'Bps',
              min: 0,
              queries: [
                {
                  expr: `sum by (instance, direction) (rate(usine_worker_transfer_bytes_total{${I}}[${RI}]))`,
                  legend: '{{instance}} {{direction}}',
                },
              ],
            }),
          },
          {
            w: 8,
            panel: timeseriesPanel({
              title: 'Device-lost events',
              description:
                'Times a worker lost its WebGPU device (driver reset, GPU fell off the bus). The worker exits and its supervisor restarts it.',
              unit: 'short',
              min: 0,
              queries: [
                {
                  expr: `sum by (instance) (increase(usine_worker_device_lost_total{${I}}[${RI}]))`,
                  legend: '{{instance}}',
                },
              ],
            }),
          },
          {
            w: 8,
            panel: timeseriesPanel({
              title: 'Worker jobs finished by outcome',
              description: 'Jobs finished per second on the workers, by type and outcome.',
              unit: 'ops',
              min: 0,
              queries: [
                {
                  expr: `sum by (type, outcome) (rate(usine_worker_jobs_finished_total{${I}}[${RI}]))`,
                  legend: '{{type}} {{outcome}}',
                },
              ],
            }),
          },
        ],
      },
      {
        title: 'Kernel durations',
        panels: [
          {
            panel: heatmapPanel({
              title: 'Kernel duration heatmap',
              description:
                'Kernel dispatches per duration bucket over time (usine_worker_kernel_duration_seconds), all kernels of the selected workers.',
              unit: 'short',
              yUnit: 's',
              queries: [
                {
                  expr: `sum by (le) (increase(usine_worker_kernel_duration_seconds_bucket{${I}}[${RI}]))`,
                  legend: '{{le}}',
                },
              ],
            }),
          },
          {
            panel: timeseriesPanel({
              title: 'Kernel duration p50 / p99 by kernel and dtype',
              description: 'Quantiles of one kernel dispatch, from the usine_worker_kernel_duration_seconds histogram.',
              unit: 's',
              min: 0,
              queries: [
                {
                  expr: `histogram_quantile(0.5, sum by (le, kernel, dtype) (rate(usine_worker_kernel_duration_seconds_bucket{${I}}[${RI}])))`,
                  legend: '{{kernel}} {{dtype}} p50',
                },
                {
                  expr: `histogram_quantile(0.99, sum by (le, kernel, dtype) (rate(usine_worker_kernel_duration_seconds_bucket{${I}}[${RI}])))`,
                  legend: '{{kernel}} {{dtype}} p99',
                },
              ],
            }),
          },
        ],
      },
      {
        title: 'Power and jobs',
        panels: [
          {
            panel: timeseriesPanel({
              title: 'Estimated power draw',
              description:
                'Estimated watts per worker: rate of usine_worker_energy_joules_total (configured power figure × busy time), with the configured figure as the ceiling. Estimates, not measurements.',
              unit: 'watt',
              min: 0,
              queries: [
                { expr: `rate(usine_worker_energy_joules_total{${I}}[${RI}])`, legend: '{{instance}} estimated' },
                { expr: `usine_worker_power_watts{${I}}`, legend: '{{instance}} configured figure' },
              ],
            }),
          },
          {
            panel: timeseriesPanel({
              title: 'Job duration p95 on workers',
              description:
                'Wall time of a job on a worker (usine_worker_job_duration_seconds), 95th percentile by type.',
              unit: 's',
              min: 0,
              queries: [
                {
                  expr: `histogram_quantile(0.95, sum by (le, type) (rate(usine_worker_job_duration_seconds_bucket{${I}}[${RI}])))`,
                  legend: '{{type}}',
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
