// A training run's curve with uPlot: the training loss per step (left axis), the held-out
// loss where evaluated (left, points) and the held-out exact match (right axis, points).
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface CurvePoint {
  step: number;
  loss?: number;
  evalLoss?: number;
  evalExact?: number;
}

const BLUE = '#1f5fbf';
const ORANGE = '#b4470b';
const GREEN = '#1b7a3a';

export function Curve({ points, width = 760 }: { points: CurvePoint[]; width?: number }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = (): uPlot.AlignedData => [
    points.map((p) => p.step),
    points.map((p) => p.loss ?? null),
    points.map((p) => p.evalLoss ?? null),
    points.map((p) => (p.evalExact === undefined ? null : 100 * p.evalExact)),
  ];

  useEffect(() => {
    const opts: uPlot.Options = {
      width,
      height: 300,
      scales: { x: { time: false }, pct: { range: [0, 100] } },
      axes: [
        { label: 'step' },
        { label: 'loss', scale: 'y' },
        { label: 'held-out exact %', scale: 'pct', side: 1, grid: { show: false } },
      ],
      series: [
        { label: 'step' },
        { label: 'training loss', stroke: BLUE, width: 2, spanGaps: true, scale: 'y' },
        { label: 'held-out loss', stroke: ORANGE, width: 0, points: { show: true, size: 8 }, scale: 'y' },
        {
          label: 'held-out exact match',
          stroke: GREEN,
          width: 0,
          points: { show: true, size: 8 },
          scale: 'pct',
          value: (_u, v) => (v == null ? '' : `${v.toFixed(1)} %`),
        },
      ],
    };
    plot.current = new uPlot(opts, data(), el.current!);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [width]);

  useEffect(() => {
    plot.current?.setData(data());
  }, [points]);

  const last = points.findLast((p) => p.loss !== undefined);
  return (
    <figure class="curve" data-points={points.length} data-first={points[0]?.step}>
      <div ref={el} />
      <figcaption class="muted">
        {points.length} points{last ? `; step ${last.step}, loss ${last.loss!.toFixed(4)}` : ''}
      </figcaption>
    </figure>
  );
}
