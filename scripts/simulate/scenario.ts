// The workload `npm run simulate` feeds the simulator: who the tenants are and what they submit.
import type { SimTenant } from './core.ts';

/**
 * A job's run time: most minutes long, some hours, a few days. 85 %: 1 min + exponential of
 * mean 10 min; 14 %: uniform 1–12 h; 1 %: uniform 1–3 days. Mean ≈ 93 min.
 */
export function heavyTailedDuration(random: () => number): number {
  const u = random();
  if (u < 0.85) return 60 - 600 * Math.log(1 - random());
  if (u < 0.99) return 3600 * (1 + 11 * random());
  return 86_400 * (1 + 2 * random());
}

/** The mean of heavyTailedDuration, for sizing arrival rates. */
export const MEAN_DURATION_SECONDS = 0.85 * 660 + 0.14 * 3600 * 6.5 + 0.01 * 86_400 * 2;

/** Minutes only (1 min + exponential of mean 10 min): the same policy without the long tail. */
export function minutesDuration(random: () => number): number {
  return 60 - 600 * Math.log(1 - random());
}
export const MINUTES_MEAN_SECONDS = 660;

/**
 * `n` tenants whose weights follow a Pareto law (α 1.16, the 80/20 rule; capped at 100): a
 * few big tenants, many of weight 1–2. Each submits a Poisson stream; their demands add up
 * to `load` × the devices' capacity, spread in proportion to weight times a log-normal factor
 * (σ 1), so that some tenants want far more than their share and others less. Late tenants
 * arrive with no usage into a busy centre: what the catch-up bound is for.
 */
export function paretoTenants(
  n: number,
  devices: number,
  load: number,
  random: () => number,
  meanDurationSeconds = MEAN_DURATION_SECONDS,
  /** This fraction of the tenants starts submitting at a uniform random time within `lateWithinSeconds`. */
  lateFraction = 0,
  lateWithinSeconds = 0,
): SimTenant[] {
  const weights = Array.from({ length: n }, () =>
    Math.min(100, Math.round(10 / Math.pow(1 - random(), 1 / 1.16)) / 10),
  );
  const factors = weights.map((w) => {
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return w * Math.exp(z);
  });
  const total = factors.reduce((a, b) => a + b, 0);
  const jobsPerSecond = (load * devices) / meanDurationSeconds;
  return weights.map((weight, i) => ({
    name: `t${i}`,
    weight,
    jobsPerSecond: (jobsPerSecond * factors[i]) / total,
    fromSeconds: random() < lateFraction ? random() * lateWithinSeconds : 0,
  }));
}
