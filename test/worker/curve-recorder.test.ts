// The curve recorder: which steps it keeps (every one on a short run, a bounded downsample of
// means on a long one, the evaluations), and that it batches its writes and survives a failing sink.
import { describe, expect, it } from 'vitest';
import { CurveRecorder } from '../../worker/train/curve-recorder.ts';
import { MAX_EVAL_POINTS, MAX_LOSS_POINTS, type CurvePoint } from '../../shared/job-curve.ts';
import type { Progress } from '../../worker/train/trainer.ts';

const progress = (step: number, steps: number, evalEvery = 0): Progress => ({
  step,
  steps,
  loss: step,
  gradNorm: 1,
  lr: 0.01,
  tokensPerSecond: 1000.4,
  ...((evalEvery > 0 && step % evalEvery === 0) || step === steps
    ? { evaluation: { step, loss: 0.5, tokenAccuracy: 0.9, exactMatch: 0.8 } }
    : {}),
});

async function record(steps: number, evalEvery: number, now = () => 0) {
  const batches: CurvePoint[][] = [];
  const r = new CurveRecorder({ steps, evalEvery, sink: async (b) => void batches.push(b), now });
  for (let s = 1; s <= steps; s++) r.record(progress(s, steps, evalEvery));
  await r.flush();
  return { batches, points: batches.flat() };
}

describe('CurveRecorder', () => {
  it('keeps every step of a short run, with its evaluations and tokens/s', async () => {
    const { points } = await record(30, 10);
    expect(points.map((p) => p.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(points.map((p) => p.loss)).toEqual(points.map((p) => p.step));
    expect(points.filter((p) => p.eval).map((p) => p.step)).toEqual([10, 20, 30]);
    expect(points[9].eval).toEqual({ loss: 0.5, exactMatch: 0.8, tokenAccuracy: 0.9 });
    expect(points[0].tokensPerSecond).toBe(1000);
  });

  it('bounds a long run: the mean loss of each stride, every k-th evaluation, the last step', async () => {
    const steps = 100_003;
    const { points } = await record(steps, 7);
    const losses = points.filter((p) => p.step % 51 === 0 || p.step === steps);
    const stride = Math.ceil(steps / MAX_LOSS_POINTS);
    expect(stride).toBe(51);
    expect(points.length).toBeLessThanOrEqual(MAX_LOSS_POINTS + MAX_EVAL_POINTS + 2);
    expect(losses.length).toBe(Math.floor(steps / stride) + 1);
    const evals = points.filter((p) => p.eval);
    expect(evals.length).toBeGreaterThan(MAX_EVAL_POINTS / 2);
    expect(evals.length).toBeLessThanOrEqual(MAX_EVAL_POINTS + 1);
    expect(evals.at(-1)!.step).toBe(steps);
    // Each point's loss is the mean of the steps since the one before (here loss = step).
    for (let i = 1; i < points.length; i++) {
      const [a, b] = [points[i - 1].step, points[i].step];
      expect(points[i].loss).toBeCloseTo((a + 1 + b) / 2, 6);
    }
  });

  it('writes in batches, at most one per flushMs, and a failing sink fails nothing', async () => {
    let t = 0;
    const { batches } = await record(1000, 0, () => (t += 10)); // 10 ms per step, flushMs 1000
    expect(batches.length).toBeGreaterThan(5);
    expect(batches.length).toBeLessThan(20);
    expect(batches.flat()).toHaveLength(1000);

    const errors: Error[] = [];
    const r = new CurveRecorder({
      steps: 5,
      evalEvery: 0,
      flushMs: 0,
      sink: () => Promise.reject(new Error('redis down')),
      onError: (e) => errors.push(e),
    });
    for (let s = 1; s <= 5; s++) r.record(progress(s, 5));
    await r.flush();
    expect(errors.map((e) => e.message)).toEqual(['redis down']); // told once
  });
});
