// Records a training run's curve while it trains, for GET /v1/jobs/:id/curve: a bounded
// downsample of the losses (every step on a short run, the mean of each ⌈steps/MAX⌉ steps on
// a long one), the held-out evaluations (all, or every k-th past MAX_EVAL_POINTS), tokens/s.
// Points are written in batches, at most one write per `flushMs` (a fast device makes hundreds
// of steps a second), and never hold up or fail the run: a lost write loses points, not the job.
import { MAX_EVAL_POINTS, MAX_LOSS_POINTS, type CurvePoint } from '../../shared/job-curve.ts';
import type { Progress } from './trainer.ts';

/** Where batches of points go (the curve store in Redis; an array in tests). */
export type CurveSink = (points: CurvePoint[]) => Promise<void>;

export class CurveRecorder {
  private readonly stride: number;
  private readonly evalStride: number;
  private pending: CurvePoint[] = [];
  private sum = 0;
  private count = 0;
  private lastFlush = 0;
  private writing: Promise<void> = Promise.resolve();
  private failed = false;

  constructor(
    private readonly o: {
      steps: number;
      /** The run's evalEvery (0: only at the end). */
      evalEvery: number;
      sink: CurveSink;
      flushMs?: number;
      /** Told once when a write fails (the run goes on). */
      onError?: (e: Error) => void;
      now?: () => number;
    },
  ) {
    this.stride = Math.max(1, Math.ceil(o.steps / MAX_LOSS_POINTS));
    const evaluations = o.evalEvery > 0 ? Math.floor(o.steps / o.evalEvery) : 1;
    this.evalStride = Math.max(1, Math.ceil(evaluations / MAX_EVAL_POINTS));
  }

  private keepsEval(step: number): boolean {
    if (step === this.o.steps) return true;
    return this.o.evalEvery > 0 && (step / this.o.evalEvery) % this.evalStride === 0;
  }

  /** One step's progress (from the trainer's onProgress). */
  record(p: Progress): void {
    this.sum += p.loss;
    this.count++;
    const ev = p.evaluation && this.keepsEval(p.step) ? p.evaluation : undefined;
    if (!ev && p.step % this.stride !== 0 && p.step !== this.o.steps) return;
    this.pending.push({
      step: p.step,
      loss: this.sum / this.count,
      tokensPerSecond: Math.round(p.tokensPerSecond),
      ...(ev && { eval: { loss: ev.loss, exactMatch: ev.exactMatch, tokenAccuracy: ev.tokenAccuracy } }),
    });
    this.sum = 0;
    this.count = 0;
    const now = (this.o.now ?? Date.now)();
    if (now - this.lastFlush >= (this.o.flushMs ?? 1000)) {
      this.lastFlush = now;
      this.flush().catch(() => {}); // it never rejects; not awaited: the run goes on
    }
  }

  /** Writes what is pending; resolves when every write so far has ended (it never rejects). */
  flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    // One write at a time, in order: each batch replaces the stored points from its first step on.
    if (batch.length)
      this.writing = this.writing.then(() =>
        this.o.sink(batch).catch((e: Error) => {
          if (!this.failed) this.o.onError?.(e);
          this.failed = true;
        }),
      );
    return this.writing;
  }
}
