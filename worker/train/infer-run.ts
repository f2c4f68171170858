// An `infer` job's work, apart from the queue: load a checkpoint, check the prompts against
// its vocabulary and context, decode on the device with a KV cache, return text.
import { decodeCheckpoint } from '../../shared/train/checkpoint.ts';
import { GpuModel } from './gpu-model.ts';
import { inferJobProblems, type InferJobParams } from '../../shared/train/job-params.ts';
import { KvDecoder } from './kv-decoder.ts';
import { TASK_VOCABULARY } from '../../shared/train/tasks.ts';
import { Vocabulary } from '../../shared/train/vocabulary.ts';
import { InputError } from '../../kernels/errors.ts';

export class InferJobError extends InputError {
  override name = 'InferJobError';
}

export interface InferOutput {
  prompt: string;
  /** The generated text (up to and including the end mark for task models). */
  text: string;
  tokens: number[];
}

export async function runInference(o: {
  device: GPUDevice;
  params: InferJobParams;
  checkpoint: Uint8Array;
}): Promise<{ outputs: InferOutput[]; tokensPerSecond: number }> {
  const ckpt = decodeCheckpoint(o.checkpoint);
  const tokens = ckpt.extra?.vocabulary;
  if (!tokens)
    throw new InferJobError('the checkpoint has no vocabulary in its metadata; it was not written by a train job');
  const vocab = new Vocabulary(JSON.parse(tokens) as string[]);
  const problems = inferJobProblems(o.params, ckpt.config, (t) => vocab.encode(t));
  if (problems.length) throw new InferJobError(problems.join('; '));
  // Task models end each answer with the end mark: stop there.
  const isTask = (JSON.parse(ckpt.extra?.data ?? '{}') as { source?: string }).source === 'task';
  const stopToken = isTask ? TASK_VOCABULARY.id('.') : undefined;
  const model = new GpuModel(o.device, ckpt.config, ckpt.params);
  const decoder = new KvDecoder(model);
  try {
    const prompts = o.params.prompts.map((t) => vocab.encode(t));
    const r = await decoder.decode(prompts, {
      maxNewTokens: o.params.maxNewTokens,
      temperature: o.params.temperature,
      seed: o.params.seed,
      stopToken,
    });
    return {
      outputs: o.params.prompts.map((prompt, i) => ({ prompt, text: vocab.decode(r.tokens[i]), tokens: r.tokens[i] })),
      tokensPerSecond: r.tokensPerSecond,
    };
  } finally {
    decoder.destroy();
    model.destroy();
  }
}
