// GFLOP/s per size, one line per dtype, for one kernel (uPlot, redrawn when the points change).
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { BenchPoint } from './run-bench.ts';

const COLORS: Record<string, string> = { f32: '#1f5fbf', f16: '#b8400f' };

export function GflopsChart({ title, points }: { title: string; points: BenchPoint[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current || points.length === 0) return;
    const sizes = [...new Set(points.map((p) => p.size))];
    const dtypes = [...new Set(points.map((p) => p.dtype))];
    // Sizes are categories (x = their index); a missing figure is a gap, not a zero.
    const data: uPlot.AlignedData = [
      sizes.map((_, i) => i),
      ...dtypes.map((d) => sizes.map((s) => points.find((p) => p.size === s && p.dtype === d)?.gflops ?? null)),
    ];
    const chart = new uPlot(
      {
        title,
        width: Math.min(560, box.current.clientWidth || 560),
        height: 260,
        scales: { x: { time: false } },
        axes: [
          { label: 'size', values: (_u, ticks) => ticks.map((t) => sizes[t] ?? ''), incrs: [1] },
          { label: 'GFLOP/s' },
        ],
        series: [
          { label: 'size', value: (_u, v) => (v == null ? '' : (sizes[v] ?? '')) },
          ...dtypes.map((d) => ({
            label: d,
            stroke: COLORS[d] ?? '#333',
            width: 2,
            points: { size: 7 },
            value: (_u: uPlot, v: number | null) => (v == null ? '—' : `${v.toFixed(2)} GFLOP/s`),
          })),
        ],
      },
      data,
      box.current,
    );
    return () => chart.destroy();
  }, [title, points]);
  return <div ref={box} class="kernels-chart" role="img" aria-label={`${title}: GFLOP/s per size`} />;
}
