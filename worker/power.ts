// The power figure behind the worker's energy estimate. WebGPU exposes no power reading,
// so energy is estimated as (power figure × device busy seconds). Operators should set
// USINE_WORKER_POWER_WATTS to their card's measured draw under load; without it we use a
// rough figure per adapter kind, chosen to be in the right order of magnitude, no better.
import type { AdapterDescription } from '../kernels/device.ts';

/** Rough board power under compute load, in watts, by adapter kind (estimates). */
export const DEFAULT_POWER_WATTS = {
  /** A CPU implementation (lavapipe, SwiftShader): a share of a server CPU package. */
  software: 65,
  nvidia: 300,
  amd: 300,
  /** Intel ranges from integrated (~15 W) to Arc/Data Center (~150+ W): a middle guess. */
  intel: 75,
  apple: 40,
  unknown: 150,
} as const;

export type PowerSource = 'configured' | 'estimate';

/** The figure to use for `adapter`: the configured one when given, else the default for its kind. */
export function powerWatts(adapter: AdapterDescription, configured?: number): { watts: number; source: PowerSource } {
  if (configured !== undefined) return { watts: configured, source: 'configured' };
  if (adapter.software) return { watts: DEFAULT_POWER_WATTS.software, source: 'estimate' };
  const v = adapter.vendor.toLowerCase();
  for (const kind of ['nvidia', 'amd', 'intel', 'apple'] as const) {
    if (v.includes(kind)) return { watts: DEFAULT_POWER_WATTS[kind], source: 'estimate' };
  }
  // Dawn reports some vendors by PCI id name only ("ati" for older AMD parts).
  if (v.includes('ati')) return { watts: DEFAULT_POWER_WATTS.amd, source: 'estimate' };
  return { watts: DEFAULT_POWER_WATTS.unknown, source: 'estimate' };
}
