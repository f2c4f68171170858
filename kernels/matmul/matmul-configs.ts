// The tuning space and the built-in defaults used before (or without) tuning.
import { tileM, tileN, type MatmulConfig } from './matmul-program.ts';
import type { ResolvedSpec } from './matmul-spec.ts';

const d = (wgX: number, wgY: number, rm: number, rn: number, cw: 1 | 4): MatmulConfig => ({
  variant: 'direct',
  wgX,
  wgY,
  rm,
  rn,
  cw,
  tk: 0,
});
const t = (wgX: number, wgY: number, rm: number, rn: number, cw: 1 | 4, tk: number): MatmulConfig => ({
  variant: 'tiled',
  wgX,
  wgY,
  rm,
  rn,
  cw,
  tk,
});

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
  { ...d(8, 1, 8, 1, 4), sgA: true },
  { ...d(8, 1, 8, 2, 4), sgA: true },
  d(8, 8, 4, 1, 4),
  d(16, 16, 4, 1, 4),
  t(8, 8, 4, 1, 4, 32),
  t(16, 16, 4, 1, 4, 16),
  t(16, 8, 8, 1, 4, 16),
  t(16, 16, 8, 2, 4, 16),
];

/** Whether a config runs on this device (workgroup size, workgroup memory, subgroups). */
export function fitsDevice(c: MatmulConfig, device: GPUDevice): boolean {
  const limits = device.limits;
  const shared = c.variant === 'tiled' ? (tileM(c) + tileN(c)) * c.tk * 4 : 0;
  if (c.sgA) {
    // One subgroup must be exactly the workgroup, lane i holding row i.
    const info = (device as GPUDevice & { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } })
      .adapterInfo;
    const size = c.wgX * c.wgY;
    if (!device.features.has('subgroups') || c.variant !== 'direct' || c.wgY !== 1 || c.rm !== c.wgX) return false;
    if (info?.subgroupMinSize !== size || info?.subgroupMaxSize !== size) return false;
  }
  return (
    c.wgX * c.wgY <= limits.maxComputeInvocationsPerWorkgroup &&
    c.wgX <= limits.maxComputeWorkgroupSizeX &&
    c.wgY <= limits.maxComputeWorkgroupSizeY &&
    shared <= limits.maxComputeWorkgroupStorageSize
  );
}

export const SOFTWARE_DEFAULT: MatmulConfig = d(8, 1, 4, 2, 4);
/** On software adapters whose subgroups are 8 wide (lavapipe on AVX2): A rows by broadcast. */
export const SOFTWARE_SUBGROUP_DEFAULT: MatmulConfig = { ...d(8, 1, 8, 1, 4), sgA: true };
export const HARDWARE_DEFAULT: MatmulConfig = t(16, 16, 4, 1, 4, 16);

export function defaultConfig(_spec: ResolvedSpec, software: boolean, device?: GPUDevice): MatmulConfig {
  if (!software) return HARDWARE_DEFAULT;
  return device && fitsDevice(SOFTWARE_SUBGROUP_DEFAULT, device) ? SOFTWARE_SUBGROUP_DEFAULT : SOFTWARE_DEFAULT;
}
