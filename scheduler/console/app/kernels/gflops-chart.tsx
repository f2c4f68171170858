// GFLOP/s per size for one kernel (uPlot, redrawn when the points change): one line per dtype for
// this browser's run, and a dashed line per (dtype, adapter) for what the workers' tuners measured.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

const COLORS: Record<string, string> = { f32: '#1f5fbf', f16: '#b8400f' };
const NONE: (ChartPoint & { adapter: string })[] = [];

/** One figure: this browser's (a BenchPoint) or a worker's (a RecordedTuning with its GFLOP/s). */
export interface ChartPoint {
  size: string;
  dtype: string;
  gflops: number;
}

/** `N` → N³, `MxNxK` (or `HxSxD`, `c` for causal) → the product: sizes in order of work. */
function volume(size: string): number {
  const dims = size.replace(/c$/, '').split('x').map(Number);
  return dims.length === 1 ? dims[0] ** 3 : dims.reduce((a, b) => a * b, 1);
}

interface Series {
  label: string;
  dtype: string;
  dash?: number[];
  points: ChartPoint[];
}

export function GflopsChart({
  title,
  points,
  workers = NONE,
}: {
  title: string;
  points: ChartPoint[];
  /** The workers' figures for this kernel, with their adapter: a second series per (dtype, adapter). */
  workers?: (ChartPoint & { adapter: string })[];
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current || points.length + workers.length === 0) return;
    const series: Series[] = [
      ...[...new Set(points.map((p) => p.dtype))].map((d) => ({
        label: `${d} · this browser`,
        dtype: d,
        points: points.filter((p) => p.dtype === d),
      })),
      ...[...new Set(workers.map((p) => `${p.dtype}\n${p.adapter}`))].map((key) => {
        const [d, adapter] = key.split('\n');
        return {
          label: `${d} · workers (${adapter.length > 32 ? `${adapter.slice(0, 31)}…` : adapter})`,
          dtype: d,
          dash: [6, 4],
          points: workers.filter((p) => p.dtype === d && p.adapter === adapter),
        };
      }),
    ];
    // Sizes are categories (x = their index), in order of work. A series without a figure at a size
    // has null there (never a zero); its line joins its own points across it.
    const sizes = [...new Set([...points, ...workers].map((p) => p.size))].sort((a, b) => volume(a) - volume(b));
    const data: uPlot.AlignedData = [
      sizes.map((_, i) => i),
      ...series.map((s) => sizes.map((size) => s.points.find((p) => p.size === size)?.gflops ?? null)),
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
          ...series.map((s) => ({
            label: s.label,
            stroke: COLORS[s.dtype] ?? '#333',
            width: 2,
            dash: s.dash,
            spanGaps: true,
            points: { size: 7 },
            value: (_u: uPlot, v: number | null) => (v == null ? '—' : `${v.toFixed(2)} GFLOP/s`),
          })),
        ],
      },
      data,
      box.current,
    );
    return () => chart.destroy();
  }, [title, points, workers]);
  return <div ref={box} class="kernels-chart" role="img" aria-label={`${title}: GFLOP/s per size`} />;
}
