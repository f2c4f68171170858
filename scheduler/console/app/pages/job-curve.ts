// A train job's curve for its page: the whole curve so far when the page opens (GET
// /v1/jobs/:id/curve), then only the points after the last one, every second while the job runs.
import { useRef } from 'preact/hooks';
import type { JobCurve } from '../../../../shared/job-curve.ts';
import type { JobView } from '../../../../shared/job-view.ts';
import { api } from '../api.ts';
import type { CurvePoint } from '../curve.tsx';
import { usePoll, type Polled } from '../poll.ts';
import { resultPoints } from './job-result.tsx';

export interface LiveCurve {
  points: CurvePoint[];
  /** Training throughput at the newest point. */
  tokensPerSecond?: number;
}

export function useCurve(id: string, job: JobView | undefined, active: boolean): Polled<LiveCurve> {
  const seen = useRef({ id, after: 0, points: [] as CurvePoint[], tokensPerSecond: undefined as number | undefined });
  if (seen.current.id !== id) seen.current = { id, after: 0, points: [], tokensPerSecond: undefined };
  const isTrain = job?.type === 'train';
  const polled = usePoll(
    async (): Promise<LiveCurve> => {
      const s = seen.current;
      if (!isTrain) return { points: [] };
      // A long curve comes in pages (`more`): read them all before drawing.
      for (let more = true; more;) {
        const c = await api<JobCurve>('GET', `/v1/jobs/${encodeURIComponent(id)}/curve?after=${s.after}`);
        // A step already drawn (an overlapping poll after the job loaded) is not drawn twice.
        for (const p of c.points.filter((p) => p.step > (s.points.at(-1)?.step ?? 0)))
          s.points.push({
            step: p.step,
            loss: p.loss,
            ...(p.eval && { evalLoss: p.eval.loss, evalExact: p.eval.exactMatch }),
          });
        if (c.points.length) {
          s.tokensPerSecond = c.points.at(-1)!.tokensPerSecond;
          s.points = [...s.points]; // a new array: the chart redraws
        }
        s.after = Math.max(s.after, c.next);
        more = c.more;
      }
      return { points: s.points, tokensPerSecond: s.tokensPerSecond };
    },
    1000,
    [id, isTrain],
    // Polls while the job runs, and once more after it ends (the last points).
    isTrain && active,
  );
  // A job that ended before curves were recorded (or whose curve expired): its result's losses.
  if (job && !active && polled.data && polled.data.points.length === 0) {
    const points = resultPoints(job);
    if (points.length) return { ...polled, data: { points } };
  }
  return polled;
}
