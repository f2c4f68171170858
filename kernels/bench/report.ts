// Printing results: one table per kernel, our ratio to each baseline.
import type { AdapterDescription } from '../device.ts';
import type { BenchResult } from './types.ts';

export function adapterLines(a: AdapterDescription): string[] {
  return [
    `adapter: ${a.description || a.device}`,
    `  vendor ${a.vendor} · architecture ${a.architecture} · device ${a.device} · backend ${a.backend}${a.software ? ' · software (CPU) implementation' : ''}`,
    `  timestamp-query ${a.features.includes('timestamp-query') ? 'yes' : 'no'} · shader-f16 ${a.features.includes('shader-f16') ? 'yes' : 'no'} · subgroups ${a.features.includes('subgroups') ? 'yes' : 'no'}`,
  ];
}

/**
 * Our figure to compare a baseline with: the one timed the same way when we have it (wall time
 * with transfers against ORT/TF.js), else our best.
 */
function ours(rows: BenchResult[], base: BenchResult): BenchResult | undefined {
  const usine = rows.filter((r) => r.impl === 'usine');
  const same = usine.find((r) => r.timing === base.timing);
  // Wall-timed baselines are compared with our wall time including transfers (strict for us).
  const wall = base.timing.startsWith('wall') ? usine.find((r) => r.timing === 'wall+io') : undefined;
  return same ?? wall ?? usine.sort((a, b) => a.ms - b.ms)[0];
}

export function resultTable(results: BenchResult[], describe: (shape: object) => string): string[] {
  const lines: string[] = [];
  const groups = new Map<string, BenchResult[]>();
  for (const r of results) {
    const key = `${r.kernel} ${r.dtype} ${describe(r.shape)}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const pad = (s: string, n: number) => s.padEnd(n);
  const lpad = (s: string, n: number) => s.padStart(n);
  for (const [key, rows] of groups) {
    lines.push('', key);
    lines.push(
      `  ${pad('impl', 7)} ${pad('timing', 9)} ${lpad('median ms', 11)} ${lpad('GFLOP/s', 9)} ${lpad('best ms', 10)}  ${'usine ×'}`,
    );
    for (const r of rows) {
      const o = r.impl === 'usine' ? undefined : ours(rows, r);
      const ratio = o ? `${(r.ms / o.ms).toFixed(2)}×${o.timing !== r.timing ? ` (vs our ${o.timing})` : ''}` : '';
      lines.push(
        `  ${pad(r.impl, 7)} ${pad(r.timing, 9)} ${lpad(r.ms.toFixed(r.ms < 10 ? 3 : 1), 11)} ${lpad(r.gflops.toFixed(2), 9)} ${lpad(r.minMs.toFixed(r.minMs < 10 ? 3 : 1), 10)}  ${ratio}${r.note ? `  ${r.note}` : ''}`,
      );
    }
  }
  lines.push(
    '',
    'timing: gpu = timestamp-query around the pass · wall = submit to onSubmittedWorkDone, data on the GPU ·',
    '        wall+io = host arrays in, host arrays out (upload, run, read back) · wall+read = inputs on the GPU, run + read back.',
    'usine × = baseline time ÷ our time measured the same way (higher is better for us).',
  );
  return lines;
}
