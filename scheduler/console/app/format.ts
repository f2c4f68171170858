// Small formatters shared by the pages.
import type { JobView } from '../../../shared/job-view.ts';

export function duration(ms: number): string {
  if (!(ms >= 0)) return '';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** How long the job waited, and how long it ran (so far). */
export function times(j: JobView, now = Date.now()): { queued: string; running: string } {
  const created = Date.parse(j.createdAt);
  const started = j.startedAt ? Date.parse(j.startedAt) : null;
  const finished = j.finishedAt ? Date.parse(j.finishedAt) : null;
  return {
    queued: duration((started ?? finished ?? now) - created),
    running: started ? duration((finished ?? now) - started) : '',
  };
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** 1.2 TFLOP, 340 GFLOP, … */
export function flops(n: number): string {
  const units = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(n < 10 && i > 0 ? 1 : 0)} ${units[i]}FLOP`;
}

export const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** Estimated energy as the CLI prints it (client/format.ts formatEnergy): J, kJ, Wh, kWh. */
export function energy(joules: number): string {
  if (joules < 1000) return `${joules.toFixed(0)} J`;
  if (joules < 36_000) return `${(joules / 1000).toFixed(1)} kJ`;
  if (joules < 3_600_000) return `${(joules / 3600).toFixed(1)} Wh`;
  return `${(joules / 3_600_000).toFixed(2)} kWh`;
}
