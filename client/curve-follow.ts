// `usine wait` / `submit --wait` on a train job: the curve read as it grows (GET
// /v1/jobs/:id/curve with after=), for a line per held-out evaluation and a sparkline of the loss.
import type { CurvePoint } from '../shared/job-curve.ts';
import type { UsineClient } from './client.ts';
import { sparkline } from './sparkline.ts';

export class CurveFollower {
  private after = 0;
  /** Every loss point read so far, by step. */
  readonly losses: number[] = [];
  steps: number | null = null;
  private lastEval: CurvePoint | undefined;

  constructor(
    private readonly client: UsineClient,
    private readonly id: string,
  ) {}

  /** The points trained since the last call (every page of them). */
  async next(): Promise<CurvePoint[]> {
    const out: CurvePoint[] = [];
    for (let more = true; more;) {
      const c = await this.client.curve(this.id, { after: this.after });
      this.steps = c.steps;
      out.push(...c.points);
      this.after = Math.max(this.after, c.next);
      more = c.more;
    }
    for (const p of out) {
      this.losses.push(p.loss);
      if (p.eval) this.lastEval = p;
    }
    return out;
  }

  /** One line for a held-out evaluation: "step 200/600 loss 0.4123 held-out loss 0.39 exact 87.5% 41,000 tokens/s". */
  evalLine(p: CurvePoint): string {
    const e = p.eval!;
    return (
      `step ${p.step}${this.steps ? `/${this.steps}` : ''} loss ${p.loss.toFixed(4)} held-out loss ` +
      `${e.loss.toFixed(4)} exact ${(100 * e.exactMatch).toFixed(1)}% ${p.tokensPerSecond.toLocaleString('en')} tokens/s`
    );
  }

  /** For a progress bar on a terminal: the curve so far as a sparkline, the last loss and evaluation. */
  summary(width = 30): string {
    if (!this.losses.length) return '';
    const held = this.lastEval ? ` held-out exact ${(100 * this.lastEval.eval!.exactMatch).toFixed(1)}%` : '';
    return `${sparkline(this.losses, width)} loss ${this.losses.at(-1)!.toFixed(4)}${held}`;
  }
}
