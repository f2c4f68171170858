// The tuning space and the built-in defaults used before (or without) tuning.
import { tileM, tileN, type MatmulConfig } from './matmul-program.ts';
import type { ResolvedSpec } from './matmul-spec.ts';

const d = (wgX: number, wgY: number, rm: number, rn: number, cw: 1 | 4): MatmulConfig => ({ variant: 'direct', wgX, wgY, rm, rn, cw, tk: 0 });
const t = (wgX: number, wgY: number, rm: number, rn: number, cw: 1 | 4, tk: number): MatmulConfig => ({ variant: 'tiled', wgX, wgY, rm, rn, cw, tk });

/**
 * Every config the autotuner tries. On lavapipe (see REFERENCE.md and NOTES) a load whose
 * address differs between invocations costs a per-invocation loop, a load with the same address
 * in the whole workgroup one scalar load, and workgroup memory inside loops is always the slow
 * kind: so barrier-free configs one row of invocations high (uniform A rows, vec4 B columns)
 * win there, while real GPUs want the tiled ones.
 */
export const TUNING_SPACE: MatmulConfig[] = [
  d(8, 1, 4, 2, 4),
  d(8, 1, 8, 1, 4),
  d(8, 1, 6, 1, 4),
  d(8, 1, 8, 2, 4),
  d(8, 1, 4, 1, 4),
  d(16, 1, 4, 2, 4),
  d(8, 1, 2, 2, 4),
  d(1, 8, 4, 1, 4),
  d(1, 8, 4, 2, 4),
  d(8, 8, 4, 1, 4),
  d(16, 16, 4, 1, 4),
  t(8, 8, 4, 1, 4, 32),
  t(16, 16, 4, 1, 4, 16),
  t(16, 8, 8, 1, 4, 16),
  t(16, 16, 8, 2, 4, 16),
];

/** Whether a config fits this device (workgroup size and workgroup memory). */
export function fitsDevice(c: MatmulConfig, limits: GPUSupportedLimits): boolean {
  const shared = c.variant === 'tiled' ? (tileM(c) + tileN(c)) * c.tk * 4 : 0;
  return (
    c.wgX * c.wgY <= limits.maxComputeInvocationsPerWorkgroup &&
    c.wgX <= limits.maxComputeWorkgroupSizeX &&
    c.wgY <= limits.maxComputeWorkgroupSizeY &&
    shared <= limits.maxComputeWorkgroupStorageSize
  );
}

export const SOFTWARE_DEFAULT: MatmulConfig = d(8, 1, 4, 2, 4);
export const HARDWARE_DEFAULT: MatmulConfig = t(16, 16, 4, 1, 4, 16);

export function defaultConfig(_spec: ResolvedSpec, software: boolean): MatmulConfig {
  return software ? SOFTWARE_DEFAULT : HARDWARE_DEFAULT;
}
