// The worker's metric set without a GPU: zeros for known series, the energy estimate, power defaults.
import { describe, expect, it } from 'vitest';
import { WorkerMetrics } from '../../worker/metrics.ts';
import { powerWatts, DEFAULT_POWER_WATTS } from '../../worker/power.ts';
import type { AdapterDescription } from '../../kernels/device.ts';

function adapter(o: Partial<AdapterDescription>): AdapterDescription {
  return {
    vendor: 'unknown',
    architecture: 'unknown',
    device: 'unknown',
    description: '',
    backend: 'vulkan',
    software: false,
    features: [],
    limits: {},
    ...o,
  };
}

describe('worker metrics', () => {
  it('exports zeros for every known series before any job runs', async () => {
    const m = new WorkerMetrics(adapter({ vendor: 'nvidia', architecture: 'hopper' }), 300);
    const text = await m.registry.metrics();
    for (const series of [
      'usine_worker_transfer_bytes_total{direction="upload"} 0',
      'usine_worker_transfer_bytes_total{direction="download"} 0',
      'usine_worker_energy_joules_total 0',
      'usine_worker_device_lost_total 0',
      'usine_worker_device_busy_seconds_total 0',
      'usine_worker_power_watts 300',
      'usine_worker_flops_total{kernel="matmul",dtype="f32"} 0',
      'usine_worker_jobs_finished_total{type="matmul",outcome="failed"} 0',
      'usine_worker_adapter_info{vendor="nvidia",architecture="hopper",device="unknown",backend="vulkan"} 1',
    ]) {
      expect(text).toContain(series);
    }
  });

  it('estimates energy as power figure × busy seconds', async () => {
    const m = new WorkerMetrics(adapter({}), 250);
    m.kernel('matmul', 'f32', 0.5, 1e9);
    m.kernel('matmul', 'f32', 1.5, 3e9);
    expect((await m.energyJoules.get()).values[0].value).toBeCloseTo(500, 9);
    expect((await m.busySeconds.get()).values[0].value).toBeCloseTo(2, 9);
  });

  it('prefers the configured power figure, else a default by adapter kind', () => {
    expect(powerWatts(adapter({ vendor: 'nvidia' }), 410)).toEqual({ watts: 410, source: 'configured' });
    expect(powerWatts(adapter({ vendor: 'nvidia' }))).toEqual({
      watts: DEFAULT_POWER_WATTS.nvidia,
      source: 'estimate',
    });
    expect(powerWatts(adapter({ vendor: 'amd' })).watts).toBe(DEFAULT_POWER_WATTS.amd);
    expect(powerWatts(adapter({ vendor: 'intel' })).watts).toBe(DEFAULT_POWER_WATTS.intel);
    expect(powerWatts(adapter({ vendor: 'mesa', software: true })).watts).toBe(DEFAULT_POWER_WATTS.software);
    expect(powerWatts(adapter({ vendor: 'someone' })).watts).toBe(DEFAULT_POWER_WATTS.unknown);
  });
});
