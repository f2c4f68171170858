// The tuning space and the built-in defaults used before (or without) tuning.
import type { MatmulConfig } from './matmul-program.ts';
import type { ResolvedSpec } from './matmul-spec.ts';

const d = (wgX: number, wgY: number, rm: number, rn: number, cw: 1 | 4): MatmulConfig => ({ variant: 'direct', wgX, wgY, rm, rn, cw, tk: 0 });
const t = (wgX: number, wgY: number, rm: number, rn: number, cw: 1 | 4, tk: number): MatmulConfig => ({ variant: 'tiled', wgX, wgY, rm, rn, cw, tk });

/** Every config the autotuner tries: barrier-free and workgroup-memory variants. */
export const TUNING_SPACE: MatmulConfig[] = [
  d(8, 1, 8, 1, 1),
  d(16, 1, 8, 1, 1),
  d(8, 1, 4, 2, 1),
  d(8, 1, 4, 1, 4),
  d(16, 1, 4, 1, 4),
  d(8, 8, 4, 1, 4),
  d(16, 16, 4, 1, 4),
  t(8, 8, 4, 1, 4, 32),
  t(16, 16, 4, 1, 4, 16),
  t(16, 16, 8, 2, 4, 16),
];

export const SOFTWARE_DEFAULT: MatmulConfig = d(8, 1, 4, 2, 4);
export const HARDWARE_DEFAULT: MatmulConfig = t(16, 16, 4, 1, 4, 16);

export function defaultConfig(_spec: ResolvedSpec, software: boolean): MatmulConfig {
  return software ? SOFTWARE_DEFAULT : HARDWARE_DEFAULT;
}
