// The train job: a transformer trained on this worker's device, checkpointed into the
// artifact store, resumed from its newest checkpoint when the job runs again.
import type { TrainJobParams } from '../../shared/train/job-params.ts';
import { runTraining } from '../train/train-run.ts';
import { CurveRecorder } from '../train/curve-recorder.ts';
import type { JobContext } from './job-context.ts';
import { ArtifactCheckpoints, ArtifactTexts } from './checkpoints.ts';

export async function runTrainJob(p: TrainJobParams, ctx: JobContext) {
  const store = new ArtifactCheckpoints(ctx.artifacts, ctx.tenant, ctx.jobId);
  let resumedFrom = 0;
  // The curve as it trains (GET /v1/jobs/:id/curve), in batches; what it has is kept however the attempt ends.
  const curve = new CurveRecorder({
    steps: p.steps,
    evalEvery: p.evalEvery,
    sink: (points) => ctx.curve(points),
    onError: (e) => ctx.log.warn({ err: e.message }, 'curve points not stored (the run goes on)'),
  });
  const run = await runTraining({
    device: ctx.gpu.device,
    params: p,
    // Each saved checkpoint tells the worker (a preemption then loses only the work since).
    store: {
      latest: () => store.latest(),
      save: async (step, bytes, final) => {
        // The curve up to a checkpoint is stored with it: a resumed run does not train those steps again.
        await Promise.all([store.save(step, bytes, final), curve.flush()]);
        ctx.checkpointed();
      },
    },
    texts: new ArtifactTexts(ctx.artifacts, ctx.tenant),
    signal: ctx.signal,
    onResume: (step) => {
      resumedFrom = step;
      ctx.note(`resumed from step ${step}`);
    },
    onProgress: (g) => {
      curve.record(g);
      return ctx.progress({
        percent: Math.floor((100 * g.step) / g.steps),
        message: `step ${g.step}/${g.steps} loss ${g.loss.toFixed(4)}${g.evaluation ? ` held-out exact ${(100 * g.evaluation.exactMatch).toFixed(1)}%` : ''}`,
        step: g.step,
        steps: g.steps,
        ...(resumedFrom ? { resumedFrom } : {}),
        loss: g.loss,
        tokensPerSecond: Math.round(g.tokensPerSecond),
        ...(g.evaluation
          ? { evalExactMatch: g.evaluation.exactMatch, evalTokenAccuracy: g.evaluation.tokenAccuracy }
          : {}),
      });
    },
  }).finally(() => curve.flush());
  const r = run.result;
  return {
    steps: r.step,
    resumedFrom: run.resumedFrom,
    seconds: r.seconds,
    tokensPerSecond: r.tokensPerSecond,
    finalLoss: r.losses.at(-1) ?? null,
    losses: r.losses,
    evaluations: r.evaluations,
    checkpoint: store.lastSaved?.id ?? null,
  };
}
