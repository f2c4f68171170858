// The worker's Prometheus metrics. Names follow Prometheus conventions (usine_ prefix,
// base units, _total on counters); labels are bounded (never a job id).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from '../shared/process-metrics.ts';
import { JOB_TYPES } from '../shared/job-spec.ts';
import type { AdapterDescription } from '../kernels/device.ts';

export const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
export const KERNEL_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];
export const OUTCOMES = ['succeeded', 'failed', 'cancelled'] as const;
export const DIRECTIONS = ['upload', 'download'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly jobsFinished = new Counter({
    name: 'usine_worker_jobs_finished_total',
    help: 'Jobs this worker finished, by type and outcome.',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: 'usine_worker_job_duration_seconds',
    help: 'Wall time a job ran on this worker.',
    labelNames: ['type'] as const,
    buckets: JOB_BUCKETS,
    registers: [this.registry],
  });
  readonly flops = new Counter({
    name: 'usine_worker_flops_total',
    help: 'Floating-point operations executed by kernels (rate() is throughput).',
    labelNames: ['kernel', 'dtype'] as const,
    registers: [this.registry],
  });
  readonly kernelDuration = new Histogram({
    name: 'usine_worker_kernel_duration_seconds',
    help: 'Duration of one kernel dispatch (GPU time when timestamp-query is available).',
    labelNames: ['kernel', 'dtype'] as const,
    buckets: KERNEL_BUCKETS,
    registers: [this.registry],
  });
  readonly busySeconds = new Counter({
    name: 'usine_worker_device_busy_seconds_total',
    help: 'Seconds the device spent running kernels (rate() is utilisation).',
    registers: [this.registry],
  });
  readonly transferBytes = new Counter({
    name: 'usine_worker_transfer_bytes_total',
    help: 'Bytes copied between host and device, by direction (upload = host to device, download = device to host).',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly energyJoules = new Counter({
    name: 'usine_worker_energy_joules_total',
    help: 'Estimated device energy in joules: configured power figure (usine_worker_power_watts) times device busy seconds. An estimate, not a measurement.',
    registers: [this.registry],
  });
  readonly powerWatts = new Gauge({
    name: 'usine_worker_power_watts',
    help: 'Power figure in watts behind the energy estimate (USINE_WORKER_POWER_WATTS, or a rough default by adapter kind).',
    registers: [this.registry],
  });
  readonly deviceLost = new Counter({
    name: 'usine_worker_device_lost_total',
    help: 'Times this worker lost its WebGPU device (driver reset, GPU fell off the bus, out of memory).',
    registers: [this.registry],
  });
  readonly adapterInfo = new Gauge({
    name: 'usine_worker_adapter_info',
    help: 'The WebGPU adapter this worker runs on (value is always 1).',
    labelNames: ['vendor', 'architecture', 'device', 'backend'] as const,
    registers: [this.registry],
  });

  readonly redisUp = new Gauge({
    name: 'usine_redis_up',
    help: 'Whether this worker reaches Redis (1) or not (0): at 0 it takes no new jobs.',
    registers: [this.registry],
  });

  private readonly watts: number;

  /** `watts`: the power figure behind the energy estimate (see worker/power.ts). */
  constructor(adapter: AdapterDescription, watts: number) {
    collectProcessMetrics(this.registry);
    this.watts = watts;
    this.powerWatts.set(watts);
    this.energyJoules.inc(0);
    this.deviceLost.inc(0);
    this.busySeconds.inc(0);
    for (const direction of DIRECTIONS) this.transferBytes.inc({ direction }, 0);
    this.adapterInfo.set(
      { vendor: adapter.vendor, architecture: adapter.architecture, device: adapter.device, backend: adapter.backend },
      1,
    );
    // Export zeros for every known series so rate() works from the first scrape.
    for (const type of JOB_TYPES) {
      this.jobDuration.zero({ type });
      for (const outcome of OUTCOMES) this.jobsFinished.inc({ type, outcome }, 0);
    }
    this.flops.inc({ kernel: 'matmul', dtype: 'f32' }, 0);
    this.kernelDuration.zero({ kernel: 'matmul', dtype: 'f32' });
  }

  /** Records one kernel run. */
  kernel(kernel: string, dtype: string, seconds: number, flops: number): void {
    this.flops.inc({ kernel, dtype }, flops);
    this.kernelDuration.observe({ kernel, dtype }, seconds);
    this.busySeconds.inc(seconds);
    this.energyJoules.inc(seconds * this.watts);
  }

  /** Records bytes copied between host and device. */
  transfer(direction: Direction, bytes: number): void {
    this.transferBytes.inc({ direction }, bytes);
  }
}
