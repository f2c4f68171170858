// A `train` job's work, apart from the queue: build the data, refuse what cannot run,
// resume from the newest checkpoint in the job's store (after a worker died or the job
// was preempted), train, and save checkpoints there. The job handler supplies the store
// (the artifact store) and the text source.
import type { Dataset } from '../../shared/train/batch.ts';
import { CharDataset } from '../../shared/train/char-dataset.ts';
import { decodeCheckpoint, encodeCheckpoint, type CheckpointState } from '../../shared/train/checkpoint.ts';
import { trainJobProblems, type TrainJobParams } from '../../shared/train/job-params.ts';
import { SyntheticTask } from '../../shared/train/tasks.ts';
import { train, type Progress, type TrainResult } from './trainer.ts';
import { InputError } from '../../kernels/errors.ts';

export interface CheckpointStore {
  /** The newest checkpoint this job saved, or null. */
  latest(): Promise<Uint8Array | null>;
  save(step: number, bytes: Uint8Array, final: boolean): Promise<void>;
}

export interface TextSource {
  read(artifact: string): Promise<string>;
}

export class TrainJobError extends InputError {
  override name = 'TrainJobError';
}

export interface TrainRun {
  result: TrainResult;
  /** Step of the checkpoint the run resumed from (0 = a fresh start). */
  resumedFrom: number;
}

export async function buildDataset(
  p: TrainJobParams,
  texts?: TextSource,
): Promise<{ data: Dataset; vocabulary: readonly string[] }> {
  if (p.data.source === 'task') {
    const task = new SyntheticTask(p.data.task);
    return { data: task, vocabulary: task.vocab.tokens };
  }
  if (!texts) throw new TrainJobError('text data needs a text source (the artifact store)');
  const ds = new CharDataset(await texts.read(p.data.artifact), {
    seqLen: p.data.seqLen,
    heldOutFraction: p.data.heldOutFraction,
  });
  return { data: ds, vocabulary: ds.vocab.tokens };
}

export async function runTraining(o: {
  device: GPUDevice;
  params: TrainJobParams;
  store: CheckpointStore;
  texts?: TextSource;
  onProgress?: (p: Progress) => void | Promise<void>;
  /** Called before training when the run resumes from a checkpoint, with its step. */
  onResume?: (step: number) => void;
  signal?: AbortSignal;
}): Promise<TrainRun> {
  const p = o.params;
  const problems = trainJobProblems(p, o.device.limits);
  if (problems.length) throw new TrainJobError(problems.join('; '));
  const { data, vocabulary } = await buildDataset(p, o.texts);
  if (data.vocabSize > p.model.vocabSize)
    throw new TrainJobError(
      `the text has ${data.vocabSize} distinct characters, more than model.vocabSize ${p.model.vocabSize}`,
    );
  let resume: CheckpointState | undefined;
  const bytes = await o.store.latest();
  if (bytes) {
    resume = decodeCheckpoint(bytes, p.model);
    if (resume.dataSeed !== p.seed)
      throw new TrainJobError(
        `the stored checkpoint is of another run (data seed ${resume.dataSeed}, this job's seed is ${p.seed})`,
      );
    if (resume.step > p.steps)
      throw new TrainJobError(`the stored checkpoint is at step ${resume.step}, past this job's ${p.steps} steps`);
    o.onResume?.(resume.step);
  }
  const result = await train({
    device: o.device,
    settings: p,
    data,
    resume,
    extra: { vocabulary: JSON.stringify(vocabulary), data: JSON.stringify(p.data) },
    onProgress: o.onProgress,
    onCheckpoint: (c) => o.store.save(c.step, encodeCheckpoint(c), c.step === p.steps),
    signal: o.signal,
  });
  return { result, resumedFrom: resume?.step ?? 0 };
}
