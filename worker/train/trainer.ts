// The training loop: seeded data, learning-rate schedule, a device step per batch,
// held-out evaluation and checkpoints at their intervals, resuming from a checkpoint.
// Batch s is drawn from a generator seeded by (seed, s), so a run resumed at step s sees
// exactly the batches the uninterrupted run would have: same seed, same adapter, same losses.
import { seededRandom } from '../../kernels/random.ts';
import type { Batch, Dataset } from '../../shared/train/batch.ts';
import type { CheckpointState } from '../../shared/train/checkpoint.ts';
import { GpuModel } from './gpu-model.ts';
import { learningRate } from '../../shared/train/lr-schedule.ts';
import { deviceFitProblems } from '../../shared/train/device-fit.ts';
import { checkDataFits, sameConfig } from '../../shared/train/model-config.ts';
import { initParameters } from '../../shared/train/parameters.ts';
import type { TrainSettings } from '../../shared/train/train-spec.ts';
import { InputError } from '../../kernels/errors.ts';
import { PREEMPTED_REASON } from '../../shared/queues.ts';

export interface Evaluation {
  step: number;
  /** Mean masked loss on held-out data. */
  loss: number;
  /** Fraction of held-out target tokens predicted right (teacher forcing). */
  tokenAccuracy: number;
  /**
   * Fraction of held-out sequences whose whole answer is right. With greedy decoding this
   * equals teacher-forced all-tokens-right: each step's input is then the right token.
   */
  exactMatch: number;
}

export interface Progress {
  step: number;
  steps: number;
  loss: number;
  gradNorm: number;
  lr: number;
  tokensPerSecond: number;
  evaluation?: Evaluation;
}

export interface TrainResult {
  step: number;
  losses: number[];
  evaluations: Evaluation[];
  seconds: number;
  tokensPerSecond: number;
}

export interface TrainOptions {
  device: GPUDevice;
  settings: TrainSettings;
  data: Dataset;
  /** Continue from this checkpoint (its step, parameters and moments). */
  resume?: CheckpointState;
  /** Extra checkpoint metadata (the data description, …). */
  extra?: Record<string, string>;
  onProgress?: (p: Progress) => void | Promise<void>;
  onCheckpoint?: (c: CheckpointState) => void | Promise<void>;
  /**
   * Stops the run between steps. Aborted with the reason `preempted`, the run first saves a
   * checkpoint of its last completed step (the next attempt resumes there, losing nothing);
   * a cancel or a timeout does not.
   */
  signal?: AbortSignal;
}

/** A per-step generator: the batch of step s depends only on (seed, s). */
function stepRandom(seed: number, step: number, stream: number): () => number {
  return seededRandom(
    (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(step + 1, 0xc2b2ae35) ^ Math.imul(stream, 0x27d4eb2f)) >>> 0,
  );
}

/** The held-out batches of a run's evaluations: the same at every evaluation (stream 1). */
export function evaluationBatches(
  data: Dataset,
  settings: Pick<TrainSettings, 'evalExamples' | 'batchSize' | 'seed'>,
): Batch[] {
  const batchSize = Math.min(settings.evalExamples, settings.batchSize * 4);
  const out: Batch[] = [];
  for (let done = 0, i = 0; done < settings.evalExamples; i++) {
    const n = Math.min(batchSize, settings.evalExamples - done);
    out.push(data.batch(stepRandom(settings.seed, i, 1), n, 'heldOut'));
    done += n;
  }
  return out;
}

/** Held-out evaluation by teacher-forced greedy prediction. */
export async function evaluate(
  model: GpuModel,
  data: Dataset,
  settings: TrainSettings,
  step: number,
): Promise<Evaluation> {
  let loss = 0;
  let tokens = 0;
  let right = 0;
  let exact = 0;
  let sequences = 0;
  for (const batch of evaluationBatches(data, settings)) {
    const n = batch.batchSize;
    const { predictions, loss: l } = await model.predict(batch);
    const T = batch.seqLen;
    let counted = 0;
    for (let b = 0; b < n; b++) {
      let all = true;
      for (let t = 0; t < T; t++) {
        const target = batch.targets[b * T + t];
        if (target < 0) continue;
        counted++;
        if (predictions[b * T + t] === target) right++;
        else all = false;
      }
      if (all) exact++;
    }
    loss += l * counted;
    tokens += counted;
    sequences += n;
  }
  return {
    step,
    loss: loss / Math.max(1, tokens),
    tokenAccuracy: right / Math.max(1, tokens),
    exactMatch: exact / sequences,
  };
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const { settings, data, device } = o;
  const config = settings.model;
  checkDataFits(config, data);
  const problems = deviceFitProblems(config, settings.batchSize, data.seqLen, device.limits);
  if (problems.length) throw new InputError(`the model does not fit this device: ${problems.join('; ')}`);
  if (o.resume && !sameConfig(o.resume.config, config))
    throw new InputError('resume: the checkpoint is of another model config');
  const start = o.resume?.step ?? 0;
  const model = new GpuModel(
    device,
    config,
    o.resume?.params ?? initParameters(config, settings.seed),
    settings.optimizer,
  );
  try {
    if (o.resume?.moments) model.loadMoments(o.resume.moments);
    const checkpoint = async (step: number) => {
      if (!o.onCheckpoint) return;
      const state = await model.readState();
      await o.onCheckpoint({
        config,
        step,
        dataSeed: settings.seed,
        optimizer: { name: 'adamw', ...settings.optimizer },
        params: state.params,
        moments: state.moments,
        extra: { ...o.extra, schedule: JSON.stringify(settings.schedule) },
      });
    };
    const losses: number[] = [];
    const evaluations: Evaluation[] = [];
    const t0 = performance.now();
    let tokens = 0;
    // The step of the newest checkpoint this run has (the one it resumed from counts).
    let saved = start;
    for (let step = start + 1; step <= settings.steps; step++) {
      if (o.signal?.aborted) {
        if (o.signal.reason === PREEMPTED_REASON && step - 1 > saved) await checkpoint(step - 1);
        o.signal.throwIfAborted();
      }
      const batch = data.batch(stepRandom(settings.seed, step, 0), settings.batchSize, 'train');
      const lr = learningRate(settings.schedule, step, settings.steps);
      const r = await model.step(batch, step, lr, settings.maxGradNorm);
      if (!Number.isFinite(r.loss))
        throw new InputError(`training diverged at step ${step}: loss ${r.loss}; lower the learning rate`);
      losses.push(r.loss);
      tokens += batch.batchSize * batch.seqLen;
      const last = step === settings.steps;
      let evaluation: Evaluation | undefined;
      if (last || (settings.evalEvery > 0 && step % settings.evalEvery === 0)) {
        evaluation = await evaluate(model, data, settings, step);
        evaluations.push(evaluation);
      }
      const seconds = (performance.now() - t0) / 1000;
      await o.onProgress?.({
        step,
        steps: settings.steps,
        loss: r.loss,
        gradNorm: r.gradNorm,
        lr,
        tokensPerSecond: tokens / seconds,
        evaluation,
      });
      if (last || (settings.checkpointEvery > 0 && step % settings.checkpointEvery === 0)) {
        await checkpoint(step);
        saved = step;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    return { step: settings.steps, losses, evaluations, seconds, tokensPerSecond: tokens / Math.max(seconds, 1e-9) };
  } finally {
    model.destroy();
  }
}
