// What a job produced: a train run's figures and curve points, an infer job's answers, a
// matmul's GFLOP/s; anything else as JSON.
import type { JobView } from '../../../../shared/job-view.ts';
import type { CurvePoint } from '../curve.tsx';
import { Section } from '../components.tsx';
import { pct } from '../format.ts';

interface TrainResult {
  steps: number;
  seconds: number;
  tokensPerSecond: number;
  finalLoss: number | null;
  losses: number[];
  evaluations: { step: number; loss: number; exactMatch: number; tokenAccuracy: number }[];
  checkpoint: string | null;
}

interface InferResult {
  outputs: { prompt: string; text: string }[];
  tokensPerSecond?: number;
  checkpoint?: string;
}

const num = (x: unknown) => (typeof x === 'number' ? x : undefined);

/** The curve in a finished job's result: for a job whose recorded curve is gone (see job-curve.ts). */
export function resultPoints(v: JobView): CurvePoint[] {
  const r = v.result as TrainResult | null;
  if (!r || !Array.isArray(r.losses)) return [];
  const all = new Map<number, CurvePoint>();
  const offset = r.steps - r.losses.length;
  r.losses.forEach((loss, i) => all.set(offset + i + 1, { step: offset + i + 1, loss }));
  for (const e of r.evaluations ?? [])
    all.set(e.step, { ...all.get(e.step), step: e.step, evalLoss: e.loss, evalExact: e.exactMatch });
  return [...all.values()].sort((a, b) => a.step - b.step);
}

export function TrainFigures({ job }: { job: JobView }) {
  const r = job.result as TrainResult | null;
  const p = job.progress;
  const tps = r?.tokensPerSecond ?? num(p?.tokensPerSecond);
  const lastEval = r?.evaluations?.at(-1);
  const exact = lastEval?.exactMatch ?? num(p?.evalExactMatch);
  return (
    <p class="figures">
      <span>
        step <strong>{r?.steps ?? num(p?.step) ?? 0}</strong>
      </span>
      <span>
        loss <strong>{(r?.finalLoss ?? num(p?.loss))?.toFixed(4) ?? '–'}</strong>
      </span>
      <span>
        held-out exact match <strong>{exact === undefined ? '–' : pct(exact)}</strong>
      </span>
      <span>
        <strong class="tps">{tps === undefined ? '–' : Math.round(tps).toLocaleString('en')}</strong> tokens/s
      </span>
    </p>
  );
}

export function Result({ job }: { job: JobView }) {
  const r = job.result as Record<string, unknown>;
  if (job.type === 'infer' && Array.isArray((r as unknown as InferResult).outputs)) {
    const out = (r as unknown as InferResult).outputs;
    return (
      <Section title="Answers">
        <table class="answers">
          <thead>
            <tr>
              <th scope="col">Prompt</th>
              <th scope="col">Answer</th>
            </tr>
          </thead>
          <tbody>
            {out.map((o, i) => (
              <tr key={i}>
                <td>
                  <code>{o.prompt}</code>
                </td>
                <td>
                  <code>{o.text}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {typeof r.tokensPerSecond === 'number' && <p class="muted">{Math.round(r.tokensPerSecond)} tokens/s</p>}
      </Section>
    );
  }
  if (job.type === 'train') {
    const t = r as unknown as TrainResult;
    return (
      <Section title="Result">
        <p>
          {t.steps} steps in {t.seconds?.toFixed(1)} s; final checkpoint{' '}
          {t.checkpoint ? <code>{t.checkpoint}</code> : 'none'} (in the artifacts below). Answer prompts with it:{' '}
          <a href={`#/submit?type=infer&job=${encodeURIComponent(job.id)}`}>submit an infer job</a>.
        </p>
      </Section>
    );
  }
  if (job.type === 'matmul' && typeof r.gflops === 'number') {
    const check = r.check as { passed: boolean; maxAbsError: number } | undefined;
    return (
      <Section title="Result">
        <p>
          {String(r.m)}×{String(r.k)} · {String(r.k)}×{String(r.n)} on {String(r.adapter)}:{' '}
          <strong>{r.gflops.toFixed(1)} GFLOP/s</strong> ({Number(r.ms).toFixed(2)} ms); check{' '}
          {check?.passed ? 'passed' : 'FAILED'} (max error {check?.maxAbsError.toExponential(2)}).
        </p>
      </Section>
    );
  }
  return (
    <Section title="Result">
      <pre class="log">{JSON.stringify(r, null, 2)}</pre>
    </Section>
  );
}
