// A curve in one line of text (▁▂▃▄▅▆▇█), for a terminal: `usine status` shows a training
// run's losses with it instead of printing hundreds of numbers.

const BARS = '▁▂▃▄▅▆▇█';

/**
 * `values` averaged into at most `width` equal buckets (each value counts once, so a bucket
 * holds ⌊n/width⌋ or ⌈n/width⌉ of them), each drawn as one of eight bar heights between the
 * smallest and the largest bucket. Non-finite values are skipped; a flat curve is all ▁.
 */
export function sparkline(values: readonly number[], width = 40): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return '';
  const buckets = Math.min(width, finite.length);
  const means: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * finite.length) / buckets);
    const to = Math.floor(((b + 1) * finite.length) / buckets);
    let sum = 0;
    for (let i = from; i < to; i++) sum += finite[i];
    means.push(sum / (to - from));
  }
  const lo = Math.min(...means);
  const span = Math.max(...means) - lo;
  return means
    .map((m) => BARS[span > 0 ? Math.min(BARS.length - 1, Math.floor(((m - lo) / span) * BARS.length)) : 0])
    .join('');
}
